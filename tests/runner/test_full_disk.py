"""A run on a disk that fills up mid-run outlives its log (#17.4).

A real full filesystem: a 2 MiB tmpfs mounted for the test (needs root and mount permission;
where it cannot be mounted the test skips with the reason, and under CI it fails).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rsdeploy_tui.runner import start_run, wait_run
from rsdeploy_tui.runner.detached import read_drop_note
from support.full_disk import fill, small_tmpfs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    with small_tmpfs(tmp_path / "disk") as mount_point:
        yield mount_point


def _wait(predicate, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_run_outlives_its_log_on_a_disk_filled_mid_run(small_disk: Path, tmp_path: Path) -> None:
    runs = small_disk / "runs"
    go_on = tmp_path / "go-on"
    finished = tmp_path / "ran-to-the-end"
    command = (f"for i in $(seq 1 20000); do echo line-$i-padding-padding-padding; "
               f"[ -e {go_on} ] && break; done\n"
               f"while [ ! -e {go_on} ]; do echo waiting-for-room; sleep 0.05; done\n"
               f"sleep 0.5\necho after-the-disk-had-room\ntouch {finished}\nexit 3")
    start_run(runs, command, run_id="full")
    log = runs / "full.log"
    _wait(lambda: log.exists() and log.stat().st_size > 0, "the first output")
    fill(small_disk / "filler")
    _wait(lambda: (read_drop_note(runs, "full") or {}).get("dropping") is True,
          "the wrapper to say it drops output")
    note = read_drop_note(runs, "full")
    assert note is not None and note["reason"] == os.strerror(errno.ENOSPC)
    (small_disk / "filler").unlink()
    go_on.touch()
    status = wait_run(runs, "full", timeout=60)
    assert not status.running and not status.lost
    assert status.exit_code == 3
    assert finished.exists(), "the command did not go on after its log filled the disk"
    assert status.output_dropped is not None and status.output_dropped["bytes"] > 0
    text = log.read_text()
    assert "bytes of output were dropped here: the log could not be written" in text
    assert "after-the-disk-had-room" in text


def test_exit_is_recorded_on_a_disk_that_stays_full(small_disk: Path, tmp_path: Path) -> None:
    runs = small_disk / "runs"
    go_on = tmp_path / "go-on"
    command = (f"while [ ! -e {go_on} ]; do echo filling-the-log-line; done\nexit 5")
    start_run(runs, command, run_id="stays")
    log = runs / "stays.log"
    _wait(lambda: log.exists() and log.stat().st_size > 0, "the first output")
    fill(small_disk / "filler")
    _wait(lambda: (read_drop_note(runs, "stays") or {}).get("dropping") is True,
          "the wrapper to say it drops output")
    go_on.touch()
    status = wait_run(runs, "stays", timeout=60)
    assert status.exit_code == 5 and not status.lost
    assert status.output_dropped is not None
    assert status.output_dropped["reason"] == os.strerror(errno.ENOSPC)
    assert "filling-the-log-line" in log.read_text()
