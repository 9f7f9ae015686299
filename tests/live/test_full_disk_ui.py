"""The screen says why a run's output is missing when its log's disk is full (#17.4).

A real full filesystem (a 2 MiB tmpfs holding the session's run files; the journal stays on the
ordinary disk so the session can still record). Where it cannot be mounted the test skips with
the reason; under CI it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_helpers import SIZE, goto, kinds, runbook, wait_for
from support.full_disk import fill, small_tmpfs

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import SessionStore


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    with small_tmpfs(tmp_path / "disk") as mount_point:
        yield mount_point


async def test_the_view_says_why_output_is_missing_and_the_exit_is_recorded(
    tmp_path: Path, small_disk: Path, store: SessionStore, services: dict[str, Any],
) -> None:
    flag = tmp_path / "go-on"
    path = tmp_path / "disk.yaml"
    path.write_text(
        "name: Full disk\nphases:\n  - id: pre\n    title: Pre\n    items:\n"
        "      - id: fill\n        text: Writes until told to stop\n"
        f"        command: while [ ! -e {flag} ]; do echo still-going; sleep 0.02; done; "
        "echo finished\n")
    checklist = load_checklist(path)
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    (small_disk / "runs").mkdir()
    (Path(session.dir) / "runs").symlink_to(small_disk / "runs")
    app = make_app(checklist, session, use_git=False, services=services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await goto(pilot, app, "pre.fill")
            await pilot.press("r")
            await wait_for(pilot, lambda: "command_started" in kinds(session, "pre.fill"))
            output = screen.runs.output
            await wait_for(pilot, lambda: "still-going" in output.plain_lines(),
                           what="the first output")
            fill(small_disk / "filler")
            await wait_for(pilot, lambda: any("the run log cannot be written" in line
                                              for line in output.plain_lines()),
                           timeout=30, what="the view to say why output is missing")
            assert "output not written" in output.runs[output.shown].status
            (small_disk / "filler").unlink()
            flag.touch()
            await wait_for(pilot, lambda: "command_finished" in kinds(session, "pre.fill"),
                           timeout=60, what="the end of the run")
    finally:
        session.close()
    finished = [e for e in session.events if e.kind == "command_finished"][-1]
    assert finished.data["exit_code"] == 0
    assert "lost" not in finished.data
    assert finished.data["output_dropped"]["bytes"] > 0
    assert finished.data["output_dropped"]["reason"] == "No space left on device"
