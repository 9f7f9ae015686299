"""The ``test_suite`` check: a test run passes only when tests ran and none failed.

Exit status alone is not enough: ``manage.py test`` that finds no test prints ``Found 0 test(s)``,
``Ran 0 tests`` and ``OK`` and exits 0. The verdict is read from the runner's own summary:
unittest/Django (``Ran N tests in …s`` then ``OK``/``FAILED (…)``/``NO TESTS RAN``) or pytest's
closing line (``=== 3 passed, 1 skipped in 0.12s ===``, ``no tests ran in …``).
"""

from __future__ import annotations

import re
from typing import Any

from rsdeploy_tui.checks.local import run_shell
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed
from rsdeploy_tui.records import datarecord

_RAN = re.compile(r"^Ran (?P<ran>\d+) tests? in [\d.]+s$")
_OUTCOME = re.compile(r"^(?P<word>OK|FAILED|NO TESTS RAN)(?: \((?P<details>[^)]*)\))?$")
_PYTEST = re.compile(r"^=*\s*(?P<parts>.*?)\s+in [\d.]+s(?: \([^)]*\))?\s*=*$")
_PYTEST_PART = re.compile(r"(?P<n>\d+) (?P<kind>passed|failed|errors?|skipped|xfailed|xpassed|"
                          r"deselected|warnings?|rerun)")


@datarecord(frozen=True)
class RunSummary:
    """What the test runner said about its own run."""

    runner: str
    """``unittest`` (Django's runner too) or ``pytest``."""
    ran: int
    """Tests that ran (skipped ones excluded)."""
    failures: int
    errors: int
    skipped: int
    ok: bool
    """The runner's own verdict (``OK`` / no failed or error counts)."""
    line: str
    """The summary line(s) as printed."""


def _counts(details: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in details.split(","):
        name, _, value = part.strip().partition("=")
        if value.strip().isdigit():
            found[name.strip()] = int(value)
    return found


def parse_test_summary(output: str) -> RunSummary | None:
    """The last test-run summary in ``output`` (unittest/Django or pytest), or None."""
    lines = [line.strip() for line in output.splitlines()]
    for index in range(len(lines) - 1, -1, -1):
        ran = _RAN.match(lines[index])
        if ran:
            following = next((line for line in lines[index + 1:] if line), "")
            outcome = _OUTCOME.match(following)
            if outcome is None:
                continue
            counts = _counts(outcome["details"] or "")
            skipped = counts.get("skipped", 0)
            failures = counts.get("failures", 0) + counts.get("unexpected successes", 0)
            errors = counts.get("errors", 0)
            return RunSummary("unittest", max(0, int(ran["ran"]) - skipped), failures, errors,
                               skipped, outcome["word"] != "FAILED",
                               f"{lines[index]} {following}")
        pytest = _pytest_summary(lines[index])
        if pytest is not None:
            return pytest
    return None


def _pytest_summary(line: str) -> RunSummary | None:
    if " in " not in line:
        return None
    match = _PYTEST.match(line)
    if match is None:
        return None
    parts = match["parts"]
    if parts.startswith("no tests ran"):
        return RunSummary("pytest", 0, 0, 0, 0, True, line)
    counts: dict[str, int] = {}
    for part in parts.split(","):
        found = _PYTEST_PART.fullmatch(part.strip())
        if found is None:
            return None  # not pytest's closing line (some other "… in 3.2s" text)
        kind = found["kind"].rstrip("s") if found["kind"].startswith(("error", "warning")) \
            else found["kind"]
        counts[kind] = counts.get(kind, 0) + int(found["n"])
    if not counts:
        return None
    failures = counts.get("failed", 0)
    errors = counts.get("error", 0)
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("xfailed", 0) + \
        counts.get("xpassed", 0)
    return RunSummary("pytest", ran, failures, errors, counts.get("skipped", 0),
                       failures == 0 and errors == 0, line)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


async def check_test_suite(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """The test suite ran at least ``min_tests`` (1) tests and none failed.

    ``run`` defaults to ``${manage} test``, ``cwd`` to the ``app_dir`` var.
    """
    command = str(params.get("run") or f"{ctx.var('manage', 'python manage.py')} test")
    cwd = params.get("cwd") or ctx.var("app_dir") or None
    min_tests = int(params.get("min_tests", 1))
    done = await run_shell(command, ctx, cwd)
    summary = parse_test_summary(done.output)
    evidence: dict[str, Any] = {"command": command, "exit_code": done.exit_code,
                                "min_tests": min_tests, "tail": done.tail()}
    if cwd:
        evidence["cwd"] = cwd
    if done.exit_code == 127 and "not found" in done.output:
        raise CheckError(f"command not found: {done.tail(1)[0] if done.tail(1) else command}",
                         **evidence)
    last = done.tail(1)[0] if done.tail(1) else "no output"
    if summary is None:
        if done.exit_code != 0:
            return failed(f"exit {done.exit_code} and no test summary: {last}", **evidence)
        raise CheckError("not proven: the output has no test summary (`Ran N tests` or "
                         "pytest's closing line), so how many tests ran is unknown", **evidence)
    evidence.update(runner=summary.runner, tests_ran=summary.ran, failures=summary.failures,
                    errors=summary.errors, skipped=summary.skipped, summary_line=summary.line)
    skipped_note = f", {summary.skipped} skipped" if summary.skipped else ""
    if not summary.ok or summary.failures or summary.errors or done.exit_code != 0:
        bad = summary.failures + summary.errors
        return failed(f"{bad} of {_plural(summary.ran, 'test')} failed "
                      f"({summary.failures} failures, {summary.errors} errors{skipped_note}), "
                      f"exit {done.exit_code}", **evidence)
    if summary.ran == 0 and min_tests > 0:
        return failed(f"no tests ran ({summary.line}{skipped_note})", **evidence)
    if summary.ran < min_tests:
        return failed(f"only {_plural(summary.ran, 'test')} ran, at least {min_tests} expected",
                      **evidence)
    return passed(f"{_plural(summary.ran, 'test')} passed{skipped_note}", **evidence)
