"""The test runner's own summary decides ``test_suite`` (unittest/Django and pytest formats)."""

from __future__ import annotations

from typing import Any

from checkrun import run

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checks.registry import CheckContext, run_check
from rsdeploy_tui.checks.suite import parse_test_summary
from support.django_real import DjangoProject

DJANGO_ZERO = """Found 0 test(s).
System check identified no issues (0 silenced).

----------------------------------------------------------------------
Ran 0 tests in 0.000s

OK
"""


def test_unittest_summaries() -> None:
    zero = parse_test_summary(DJANGO_ZERO)
    assert zero is not None and (zero.ran, zero.ok) == (0, True)
    py312 = parse_test_summary("Ran 0 tests in 0.000s\n\nNO TESTS RAN\n")
    assert py312 is not None and py312.ran == 0
    failed = parse_test_summary("Ran 7 tests in 1.2s\n\nFAILED (failures=2, errors=1, skipped=1)")
    assert failed is not None
    assert (failed.ran, failed.failures, failed.errors, failed.skipped, failed.ok) == (
        6, 2, 1, 1, False)
    skipped = parse_test_summary("Ran 4 tests in 0.1s\n\nOK (skipped=4)\n")
    assert skipped is not None and (skipped.ran, skipped.skipped) == (0, 4)


def test_pytest_summaries() -> None:
    ok = parse_test_summary("..\n========= 12 passed, 2 skipped, 1 warning in 0.52s =========\n")
    assert ok is not None and (ok.runner, ok.ran, ok.skipped, ok.ok) == ("pytest", 12, 2, True)
    bad = parse_test_summary("=== 1 failed, 3 passed, 2 errors in 1.01s ===")
    assert bad is not None and (bad.ran, bad.failures, bad.errors, bad.ok) == (4, 1, 2, False)
    quiet = parse_test_summary("3 passed in 0.10s")
    assert quiet is not None and quiet.ran == 3
    none = parse_test_summary("============ no tests ran in 0.01s ============")
    assert none is not None and none.ran == 0
    assert parse_test_summary("deployed in 3.2s") is None
    assert parse_test_summary("all good\n") is None


async def test_a_passing_exit_without_a_summary_is_not_proven() -> None:
    result = await run("test_suite", run="echo all fine")
    assert result.status == "error"
    assert result.summary.startswith("not proven: the output has no test summary")


async def test_pytest_zero_tests(tmp_path: Any) -> None:
    result = await run("test_suite", run="printf 'no tests ran in 0.01s\\n'; exit 0")
    assert result.status == "fail" and result.summary.startswith("no tests ran")


async def test_bundled_unit_tests_item_fails_on_a_project_without_tests(
        make_django_project: Any, django_project: DjangoProject) -> None:
    item = load_checklist().item("pre.unit-tests")
    empty: DjangoProject = make_django_project(tests="none", migrated="none")
    result = await run_check(item, CheckContext(vars=empty.vars, environ=empty.environ()))
    assert result.status == "fail", result.summary
    assert "no tests ran" in result.summary
    good = await run_check(item, CheckContext(vars=django_project.vars,
                                              environ=django_project.environ()))
    assert good.status == "pass" and good.evidence["tests_ran"] == 3
