"""Resume: runs recorded as started are re-attached, or recorded as ended while the app was away."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from live_helpers import SIZE, goto, kinds, runbook, wait_for

from rsdeploy_tui.actions import prepare_action
from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.runner import start_run, wait_run
from rsdeploy_tui.runner.detached import group_members
from rsdeploy_tui.session import Session, SessionState

Stored = Callable[[str], SessionState]


def started_elsewhere(session: Session, qid: str, command: str, run_id: str) -> Any:
    """What a previous app did: start a detached run and record it (then the app died)."""
    handle = start_run(Path(session.dir) / "runs", command, run_id=run_id)
    session.record("command_started", item=qid, run=run_id, command=command, pid=handle.pid,
                   log=str(handle.log_path), confirmed=None)
    return handle


async def test_resume_records_ended_run_and_reattaches_a_running_one(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    started_elsewhere(session, "pre.fails", "echo gone; exit 5", "away-1")
    wait_run(Path(session.dir) / "runs", "away-1", timeout=10)
    flag = Path(session.dir) / "go-on"
    started_elsewhere(session, "pre.hello",
                      # bounded, so a failing test never leaves a detached run looping forever
                      f"echo before; end=$((SECONDS+120)); "
                      f"while [ ! -e {flag} ] && [ $SECONDS -lt $end ]; do sleep 0.05; done; "
                      f"echo after",
                      "alive-1")
    app = make_app(live, session, use_git=False, services=services)
    try:
        await _resume_and_finish(app, session, stored, flag)
    finally:
        flag.touch()  # the detached run ends whatever happened above
    state = stored(session.id)
    assert state.item("pre.hello").runs[-1].exit_code == 0
    assert state.item("pre.hello").state == "pending"
    assert state.item("pre.fails").state == "failed"


async def _resume_and_finish(app: Any, session: Session, stored: Stored, flag: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        # ended while away: recorded at once from the exit file, with its tail
        await wait_for(pilot, lambda: "command_finished" in kinds(session, "pre.fails"))
        assert stored(session.id).item("pre.fails").runs[-1].exit_code == 5
        assert stored(session.id).item("pre.fails").runs[-1].tail == ["gone"]
        # still running: re-attached, output so far on screen, not finished
        await goto(pilot, app, "pre.hello")
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: output.plain_lines() == ["before"])
        assert stored(session.id).item("pre.hello").state == "running"
        flag.touch()
        await wait_for(pilot, lambda: "command_finished" in kinds(session, "pre.hello"))
        await wait_for(pilot, lambda: output.plain_lines() == ["before", "after"])
        assert any("Re-attached 1" in str(n.message) for n in app._notifications)


async def test_interrupted_action_is_recorded_with_its_partial_files(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    item = live.item("deploy.capture")
    prepared = prepare_action(item, session, dict(session.meta.vars), facts={},
                              run_dir=Path(session.dir) / "runs")
    # The action's process is killed (SIGKILL, with its wrapper) before it wrote a result.
    handle = start_run(prepared.run_dir, "echo 'asking EB...'; sleep 30", run_id=prepared.run_id,
                       display=prepared.display)
    session.record("command_started", item=item.qid, run=handle.run_id,
                   command=prepared.display, pid=handle.pid, log=str(handle.log_path),
                   confirmed=None)
    wait_for_line = 0
    while b"asking" not in handle.log_path.read_bytes() and wait_for_line < 200:
        wait_for_line += 1
        __import__("time").sleep(0.02)
    os.killpg(handle.pgid, signal.SIGKILL)
    while group_members(handle.pgid):
        __import__("time").sleep(0.02)
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "command_finished" in kinds(session, item.qid))
    state = stored(session.id)
    run = state.item(item.qid).runs[-1]
    assert run.exit_code is None and run.finished
    finished = [e for e in session.events if e.kind == "command_finished"][-1]
    assert "was interrupted" in finished.data["interrupted"]
    assert "Last progress: asking EB..." in finished.data["interrupted"]
    notes = state.item(item.qid).notes
    assert notes and "capture_version" in notes[-1].text
    assert "previous_version" not in state.facts
