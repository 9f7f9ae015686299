"""Checks on this machine: env_vars, command, secrets_in_repo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from rsdeploy_tui.checks.reasons import one_line
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed
from rsdeploy_tui.records import datarecord

OUTPUT_CAP = 256 * 1024
"""Bytes of command output kept (the tail); a chatty test suite must not fill memory."""
TAIL_LINES = 20


@datarecord
class Finished:
    """A finished shell command."""

    exit_code: int
    output: str
    """The last ``OUTPUT_CAP`` bytes of stdout and stderr, interleaved."""
    failed: dict[str, Any] | None = None
    """The line that failed, ``{step, of, line, text, exit_code}``: the run stopped there."""

    def tail(self, lines: int = TAIL_LINES) -> list[str]:
        return [one_line(line, 400) for line in self.output.splitlines()[-lines:]]


async def run_shell(command: str, ctx: CheckContext, cwd: str | None = None, *,
                    fail_fast: bool = True) -> Finished:
    """Run ``command`` with bash and the context's environment; stop it if cancelled.

    Fail-fast like every run of the app (``runner/steps.py``: ``-e -o pipefail``, the failing
    line named in ``Finished.failed``) unless ``fail_fast`` is False.

    Raises:
        CheckError: the working directory does not exist.
    """
    import tempfile

    from rsdeploy_tui.runner.steps import fail_fast_script, read_failure

    if cwd and not os.path.isdir(cwd):
        raise CheckError(f"working directory not found: {cwd}")
    env = dict(ctx.environ) if ctx.environ else dict(os.environ)
    err_fd, err_name = tempfile.mkstemp(prefix="rsdeploy-check-", suffix=".err")
    os.close(err_fd)
    err_path = Path(err_name)
    script = fail_fast_script(command, err_path) if fail_fast else command
    try:
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", script, cwd=cwd or None, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
    except BaseException:
        err_path.unlink(missing_ok=True)
        raise
    kept = bytearray()
    finished = False
    try:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            kept += chunk
            if len(kept) > OUTPUT_CAP:
                del kept[: len(kept) - OUTPUT_CAP]
        exit_code = await process.wait()
        finished = True
    finally:
        if not finished:
            # Cancelled or timed out: stop the whole process group (background children that
            # hold the pipe too, even when the shell itself has exited), then reap the shell.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            err_path.unlink(missing_ok=True)
    code = 128 - exit_code if exit_code < 0 else exit_code
    failed = read_failure(err_path, command, None, code) if fail_fast else None
    if not fail_fast:
        err_path.unlink(missing_ok=True)
    return Finished(code, kept.decode("utf-8", errors="replace"), failed)


async def check_command(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """A command exits with ``expect_exit`` (0) and, optionally, prints ``expect_output``."""
    command = str(params["run"])
    expect_exit = int(params.get("expect_exit", 0))
    cwd = params.get("cwd") or None
    done = await run_shell(command, ctx, cwd)
    evidence: dict[str, Any] = {"command": command, "exit_code": done.exit_code,
                                "tail": done.tail()}
    if done.failed is not None:
        evidence["failed"] = done.failed
    if cwd:
        evidence["cwd"] = cwd
    if done.exit_code == 127 and "not found" in done.output:
        raise CheckError(f"command not found: {done.tail(1)[0] if done.tail(1) else command}",
                         **evidence)
    problems = []
    if done.exit_code != expect_exit:
        problems.append(f"exit {done.exit_code}, expected {expect_exit}")
        if done.failed is not None and expect_exit == 0:
            from rsdeploy_tui.runner.steps import describe_failure

            problems[-1] = f"{describe_failure(done.failed)}, expected exit {expect_exit}"
    pattern = params.get("expect_output")
    if pattern:
        try:
            found = re.search(str(pattern), done.output, re.MULTILINE)
        except re.error as exc:
            raise CheckError(f"expect_output is not a valid regex: {exc}") from exc
        if not found:
            problems.append(f"output does not match {pattern!r}")
    last = done.tail(1)[0] if done.tail(1) else ""
    if problems:
        return failed("; ".join(problems) + (f" — {last}" if last else ""), **evidence)
    return passed(f"exit {done.exit_code}" + (f" — {last}" if last else ""), **evidence)


async def check_env_vars(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Each named variable is set (non-empty) in the operator's environment; values never shown."""
    environ = ctx.environ if ctx.environ else os.environ
    names = [str(n) for n in params["names"]]
    # Lists of names, not {name: state}: a redactor masks values keyed by secret-looking names.
    present = [n for n in names if environ.get(n)]
    missing = [n for n in names if not environ.get(n)]
    if missing:
        return failed("not set: " + ", ".join(missing), present=present, missing=missing)
    return passed(f"all {len(names)} set", present=present, missing=missing)


# What a committed secret looks like. Each finding reports file, line and kind, never the value.
SECRET_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("AWS secret access key", re.compile(
        r"aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b", re.IGNORECASE)),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY")),
    ("hard-coded password", re.compile(
        r"\b(?:password|passwd|pwd|secret_key|db_password|admin_password)\b['\"]?\s*[:=]\s*"
        r"['\"](?!\s*['\"])(?![^'\"]*\$\{)[^'\"\s]{6,}['\"]", re.IGNORECASE)),
]
_FILE_CAP = 1024 * 1024


def scan_text(text: str) -> list[tuple[int, str]]:
    """(line number, kind) of every secret-looking line in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in SECRET_PATTERNS:
            if pattern.search(line):
                found.append((number, kind))
                break
    return found


def _scan_repo(root: Path, exclude: list[str]) -> tuple[int, list[dict[str, Any]]]:
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True,
                            timeout=60, check=False)
    if listed.returncode != 0:
        raise CheckError(f"not a git repository: {root} "
                         f"({one_line(listed.stderr.decode(errors='replace'))})")
    files = [f for f in listed.stdout.decode(errors="replace").split("\0") if f]
    findings: list[dict[str, Any]] = []
    for name in files:
        if any(fnmatch(name, pattern) for pattern in exclude):
            continue
        path = root / name
        try:
            if not path.is_file() or path.stat().st_size > _FILE_CAP:
                continue
            data = path.read_bytes()
        except OSError:
            continue  # deleted in the work tree but still tracked: nothing to leak
        if b"\0" in data[:8192]:
            continue  # binary
        for line, kind in scan_text(data.decode("utf-8", errors="replace")):
            findings.append({"file": name, "line": line, "kind": kind})
    return len(files), findings


async def check_secrets_in_repo(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Git-tracked files hold no AWS keys, private keys or hard-coded passwords."""
    root = Path(str(params.get("path") or ctx.var("app_dir", "."))).expanduser()
    exclude = [str(p) for p in params.get("exclude") or []]
    try:
        count, findings = await asyncio.to_thread(_scan_repo, root, exclude)
    except FileNotFoundError as exc:
        raise CheckError("git is not installed") from exc
    evidence = {"path": str(root), "files_scanned": count, "findings": findings[:50],
                "findings_total": len(findings)}
    if findings:
        first = findings[0]
        return failed(f"{len(findings)} possible secret(s), first {first['kind']} in "
                      f"{first['file']}:{first['line']}", **evidence)
    return passed(f"no secrets in {count} tracked files", **evidence)
