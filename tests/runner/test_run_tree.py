"""Cancel stops everything a run started, and a shell that ended is an ended run (#17)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rsdeploy_tui.runner import cancel_run, read_meta, run_status, start_run, wait_run
from rsdeploy_tui.runner.detached import read_exit
from rsdeploy_tui.runner.proctree import descendants


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for_file(path: Path, timeout: float = 20.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_cancel_kills_a_setsid_grandchild(tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    start_run(tmp_path, f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 300' &\nsleep 300",
              run_id="s1")
    escaped = int(_wait_for_file(pidfile))
    meta = read_meta(tmp_path, "s1")
    assert meta is not None and os.getpgid(escaped) != meta["pgid"]  # it left the group
    outcome = cancel_run(tmp_path, "s1", grace=2.0)
    assert outcome.signal == "SIGINT" or outcome.signal == "SIGTERM"
    assert not _pid_alive(escaped), "the setsid grandchild survived the cancel"
    status = run_status(tmp_path, "s1")
    assert not status.running and not status.lost and status.exit_code is not None


def test_cancel_of_a_child_ignoring_sigterm_has_one_coherent_end(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    start_run(tmp_path, f"trap '' INT TERM; touch {ready}; while :; do sleep 0.1; done",
              run_id="t1")
    _wait_for_file_exists(ready)
    outcome = cancel_run(tmp_path, "t1", grace=0.5)
    assert outcome.signal == "SIGKILL"
    # The wrapper was not killed with its command: it recorded the real end itself.
    ended = read_exit(tmp_path, "t1")
    assert ended is not None and "note" not in ended
    assert ended["signal"] == "SIGKILL" and ended["exit_code"] == 137 == outcome.exit_code
    status = wait_run(tmp_path, "t1", timeout=10)
    assert not status.lost and status.exit_code == 137


def _wait_for_file_exists(path: Path, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def test_a_background_child_holding_the_output_does_not_keep_the_run_open(
        tmp_path: Path) -> None:
    start_run(tmp_path, "echo started; sleep 300 &\necho shell done; exit 4", run_id="b1")
    status = wait_run(tmp_path, "b1", timeout=20)
    try:
        assert not status.running, "the run still looks running after its shell ended"
        assert status.exit_code == 4
        assert status.background and "sleep 300" in status.background[0]
        assert "(pid " in status.background[0]
    finally:
        meta = read_meta(tmp_path, "b1")
        assert meta is not None
        for pid in descendants(int(meta["pid"])):
            os.kill(pid, 9)
