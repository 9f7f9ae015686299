"""The check process (#15): the app's checks run in a process of their own, and what happens to
that process is never a silent pass."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from rsdeploy_tui.checks.process import CheckProcess
from rsdeploy_tui.checks.registry import CheckContext


def _context(**environ: str) -> CheckContext:
    return CheckContext(environ={**os.environ, **environ})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _wait_for_file(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} was not written"
        await asyncio.sleep(0.05)
    return path.read_text().strip()


async def test_a_check_runs_in_another_process_and_its_result_comes_back() -> None:
    checks = CheckProcess()
    try:
        # bash's parent is whatever ran the check: the check process, not this one
        result = await checks.run("command", {"run": "echo parent=$PPID",
                                              "expect_output": "parent="}, _context())
        assert result.status == "pass", result
        (line,) = [t for t in result.evidence["tail"] if t.startswith("parent=")]
        parent = int(line.split("=")[1])
        assert parent != os.getpid() and parent == checks._process.pid  # type: ignore[union-attr]
        # a failing line is a failure over there too, named as here
        failed = await checks.run("command", {"run": "false\necho went on"}, _context())
        assert failed.status == "fail" and "line 1 of 2 failed" in failed.summary
    finally:
        await checks.close()


async def test_the_process_dying_makes_its_checks_errors_then_it_starts_again(
        tmp_path: Path) -> None:
    checks = CheckProcess()
    started = tmp_path / "started"
    try:
        running = asyncio.ensure_future(checks.run(
            "command", {"run": f"echo $$ > {started}; sleep 30"}, _context()))
        await _wait_for_file(started)
        process = checks._process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        result = await asyncio.wait_for(running, 30)
        assert result.status == "error"
        assert "check process ended (signal 9)" in result.summary
        assert "nothing was proven" in result.summary
        # the next check gets a new process and proves what it proves
        again = await checks.run("command", {"run": "true"}, _context())
        assert again.status == "pass" and checks._process is not process
    finally:
        await checks.close()


async def test_cancelling_a_check_stops_its_command_over_there(tmp_path: Path) -> None:
    checks = CheckProcess()
    started = tmp_path / "started"
    try:
        running = asyncio.ensure_future(checks.run(
            "command", {"run": f"echo $$ > {started}; sleep 30; touch {tmp_path}/finished"},
            _context()))
        shell = int(await _wait_for_file(started))
        running.cancel()
        deadline = time.monotonic() + 30
        while _alive(shell):
            assert time.monotonic() < deadline, "the command outlived its cancelled check"
            await asyncio.sleep(0.05)
        assert not (tmp_path / "finished").exists()
        # the process is still there for the next check
        assert (await checks.run("command", {"run": "true"}, _context())).status == "pass"
    finally:
        await checks.close()


async def test_closing_ends_the_process_and_the_commands_it_ran(tmp_path: Path) -> None:
    checks = CheckProcess()
    started = tmp_path / "started"
    running = asyncio.ensure_future(checks.run(
        "command", {"run": f"echo $$ > {started}; sleep 30"}, _context()))
    shell = int(await _wait_for_file(started))
    process = checks._process
    assert process is not None
    await checks.close()  # the app leaving: stdin closes, the process cancels and ends
    assert process.returncode is not None
    deadline = time.monotonic() + 30
    while _alive(shell):
        assert time.monotonic() < deadline, "the command outlived the app's check process"
        await asyncio.sleep(0.05)
    result = await asyncio.wait_for(running, 30)
    assert result.status == "error"  # it did not finish: not a pass


async def test_the_environment_a_check_sees_is_the_apps_at_the_time_of_the_check() -> None:
    checks = CheckProcess()
    try:
        first = await checks.run("env_vars", {"names": ["RSD_PROCESS_PROBE"]},
                                 _context(RSD_PROCESS_PROBE="set"))
        assert first.status == "pass", first
        environ = {k: v for k, v in os.environ.items() if k != "RSD_PROCESS_PROBE"}
        second = await checks.run("env_vars", {"names": ["RSD_PROCESS_PROBE"]},
                                  CheckContext(environ=environ))
        assert second.status == "fail" and "RSD_PROCESS_PROBE" in second.summary
    finally:
        await checks.close()


async def test_a_hang_up_ends_the_process_and_the_commands_it_ran(tmp_path: Path) -> None:
    """The SSH link dropping sends SIGHUP to the app and to its check process: command checks
    run in sessions of their own, so the process must stop them itself."""
    checks = CheckProcess()
    started = tmp_path / "started"
    try:
        running = asyncio.ensure_future(checks.run(
            "command", {"run": f"echo $$ > {started}; sleep 30"}, _context()))
        shell = int(await _wait_for_file(started))
        process = checks._process
        assert process is not None
        os.kill(process.pid, signal.SIGHUP)
        result = await asyncio.wait_for(running, 30)
        assert result.status == "error" and "check process ended" in result.summary
        deadline = time.monotonic() + 30
        while _alive(shell):
            assert time.monotonic() < deadline, "the command outlived its hung-up check process"
            await asyncio.sleep(0.05)
    finally:
        await checks.close()
