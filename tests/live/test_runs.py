"""`r` and `x` on the runbook: detached runs recorded in the stored session, shown in the view."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from live_helpers import SIZE, goto, kinds, runbook, shown_view, wait_for
from textual.widgets import RichLog

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.runner.detached import group_members
from rsdeploy_tui.session import Session, SessionState
from rsdeploy_tui.ui.screens.modals import ConfirmModal
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

Stored = Callable[[str], SessionState]


def finished(session: Session, qid: str) -> bool:
    return "command_finished" in kinds(session, qid)


async def test_run_records_start_and_finish_and_shows_output(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.hello")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "pre.hello"), what="the run to end")
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: output.plain_lines() == ["hello from live-prod",
                                                               "second line"])
        await pilot.pause(0.1)
        view = shown_view(app)
        log = view.query_one(RichLog)
        assert view.display and len(log.lines) == 2
    state = stored(session.id)
    run = state.item("pre.hello").runs[-1]
    assert run.command == 'echo "hello from live-prod"; echo second line'
    assert run.exit_code == 0 and run.tail == ["hello from live-prod", "second line"]
    assert run.pid and run.log and Path(run.log).exists() and run.confirmed is None
    # exit 0 does not tick by itself
    assert state.item("pre.hello").state == "pending"


async def test_nonzero_exit_marks_item_failed_with_tail(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.fails")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "pre.fails"))
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: "exit 3" in output.runs[output.shown].status)
        assert output.runs[output.shown].state == "failed"
    item = stored(session.id).item("pre.fails")
    assert item.state == "failed"
    assert item.runs[-1].exit_code == 3
    assert item.runs[-1].tail == ["starting", "something broke"]


async def test_tick_on_success_ticks_but_respects_the_gate(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.ticks")
        await pilot.press("r")
        await wait_for(pilot, lambda: stored(session.id).item("pre.ticks").state == "done")
        # deploy is gated on pre.hello: exit 0 does not tick through the gate
        await goto(pilot, app, "deploy.gated-tick")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "deploy.gated-tick"))
        await pilot.pause(0.1)
    state = stored(session.id)
    assert state.item("pre.ticks").state == "done"
    assert state.item("deploy.gated-tick").state == "pending"
    assert state.item("deploy.gated-tick").runs[-1].exit_code == 0


async def test_confirm_text_is_enforced(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.guarded")
        await pilot.press("r")
        assert isinstance(app.screen, TypedConfirmModal)
        await pilot.press(*"live-pro", "enter")  # one letter short
        assert isinstance(app.screen, TypedConfirmModal)
        await pilot.press("enter")  # empty-handed Enter neither
        assert isinstance(app.screen, TypedConfirmModal)
        await pilot.press("escape")
        assert not isinstance(app.screen, TypedConfirmModal)
        await pilot.pause(0.3)
        assert kinds(session, "pre.guarded") == []
        await pilot.press("r")
        await pilot.press(*"live-prod", "enter")
        await wait_for(pilot, lambda: finished(session, "pre.guarded"))
    state = stored(session.id)
    assert state.item("pre.guarded").runs[-1].confirmed == "live-prod"
    events = [e for e in session.events if e.item == "pre.guarded"]
    assert [e.kind for e in events] == ["confirmation", "command_started", "command_finished"]
    assert events[0].data["text"] == "live-prod" and events[0].operator == "ana"
    assert events[0].data["command"] == 'echo "guarded ran"'


async def test_cancel_kills_the_whole_process_group(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.slow")
        await pilot.press("r")
        await wait_for(pilot, lambda: "command_started" in kinds(session, "pre.slow"))
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: "started" in output.plain_lines())
        run = runbook(app).state.item("pre.slow").runs[-1]
        meta = (Path(run.log).with_suffix(".json")).read_text()
        pgid = int(__import__("json").loads(meta)["pgid"])
        assert len(group_members(pgid)) >= 3  # wrapper, bash, two sleeps
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: finished(session, "pre.slow"), what="the cancel")
        assert group_members(pgid) == []
        view = output.runs[output.shown]
        assert view.state == "cancelled" and view.status.startswith("cancelled (SIGTERM)")
        assert not any(n.title == "Command failed" for n in app._notifications)
    state = stored(session.id)
    record = state.item("pre.slow")
    # Background jobs of a non-interactive shell ignore SIGINT: SIGTERM was needed.
    assert record.runs[-1].cancelled == "SIGTERM"
    assert record.runs[-1].exit_code not in (0, None)
    assert record.state == "pending"  # cancelled is not failed
    assert kinds(session, "pre.slow")[-2:] == ["run_cancelled", "command_finished"]


async def test_control_sequences_are_stripped_and_colours_kept(
    live: Checklist, session: Session, services: dict[str, Any]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.colours")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "pre.colours"))
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: len(output.plain_lines()) == 3)
        assert output.plain_lines() == ["cleared", "after title", "red words plain"]
        raw = list(output.runs[output.shown].lines)
        assert all("\x1b[2J" not in line and "\x1b]0" not in line and "\x07" not in line
                   for line in raw)
        assert "\x1b[31m" in raw[2]  # colour kept for the view
        await pilot.pause(0.2)
        log = shown_view(app).query_one(RichLog)
        texts = [strip.text for strip in log.lines]
        assert texts[0].startswith("cleared") and "evil title" not in " ".join(texts)
        colours = {seg.style.color.number for seg in log.lines[2] if seg.style and seg.style.color}
        assert 1 in colours  # ANSI red


async def test_secret_values_never_reach_run_logs_or_session_files(
    live: Checklist, session: Session, services: dict[str, Any],
    monkeypatch: Any,
) -> None:
    canary = "Canary-Pw-7f3a9e"
    monkeypatch.setenv("DB_PASSWORD", canary)
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.secret")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "pre.secret"))
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: len(output.plain_lines()) == 2)
        assert output.plain_lines() == ["pw=****", "raw=****"]
    found = []
    for path in Path(session.dir).rglob("*"):
        if path.is_file() and canary.encode() in path.read_bytes():
            found.append(path)
    assert found == []
    assert any(Path(session.dir).rglob("*.log"))


async def test_missing_fact_is_explained_not_run(
    live: Checklist, session: Session, services: dict[str, Any], fake_eb: Path,
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "rollback.redeploy-previous")
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, TypedConfirmModal)
        output = runbook(app).runs.output
        lines = output.plain_lines()
        assert lines[0].startswith("Not run")
        assert any("previous_version not captured" in line and "Capture current EB version"
                   in line for line in lines)
    assert kinds(session, "rollback.redeploy-previous") == []


async def test_read_only_session_runs_nothing(
    live: Checklist, session: Session, store: Any, services: dict[str, Any]
) -> None:
    viewer = store.open(session.id, read_only=True)
    app = make_app(live, viewer, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.hello")
        await pilot.press("r")
        await pilot.pause(0.3)
    assert not list(Path(session.dir).glob("runs/*.log"))
    assert "command_started" not in kinds(store.open(session.id, read_only=True))


async def test_interactive_item_runs_with_the_app_suspended(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any],
    monkeypatch: Any,
) -> None:
    import contextlib

    app = make_app(live, session, use_git=False, services=services)
    suspended = []

    @contextlib.contextmanager
    def suspend() -> Any:
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.terminal")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "pre.terminal"))
    run = stored(session.id).item("pre.terminal").runs[-1]
    assert suspended == [True]
    assert run.exit_code == 7 and run.log is None
    started = next(e for e in session.events if e.kind == "command_started")
    assert started.data["mode"] == "interactive"


async def test_failed_eb_deploy_shows_what_elastic_beanstalk_says(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any],
    fake_eb: Path, eb_stub: Any, monkeypatch: Any,
) -> None:
    monkeypatch.setenv("FAKE_EB_DEPLOY", "fail")
    env = eb_stub.add_environment("live-prod", version_label="v41")
    env.add_event("Failed to deploy application.", "ERROR")
    session.record("tick", item="pre.hello")
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "deploy.eb-deploy")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "deploy.eb-deploy"))
        output = runbook(app).runs.output
        await wait_for(pilot, lambda: "What Elastic Beanstalk says:" in output.plain_lines(),
                       what="the EB explanation")
        text = "\n".join(output.plain_lines())
    assert "VersionLabel is v41, not v42" in text
    assert "Failed to deploy application." in text
    assert stored(session.id).item("deploy.eb-deploy").runs[-1].exit_code == 4


async def test_action_records_its_facts_and_ticks(
    live: Checklist, session: Session, stored: Stored, services: dict[str, Any],
    eb_stub: Any,
) -> None:
    eb_stub.add_environment("live-prod", version_label="app-v40")
    session.record("tick", item="pre.hello")
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "deploy.capture")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(session, "deploy.capture"), timeout=30)
        await pilot.pause(0.1)
    state = stored(session.id)
    assert state.facts.get("previous_version") == "app-v40"
    assert state.item("deploy.capture").state == "done"
    assert state.item("deploy.capture").runs[-1].command.startswith("action capture_version")
    assert os.path.exists(state.item("deploy.capture").runs[-1].log or "")


async def test_eb_logs_run_from_an_item_reads_like_the_log_pane(
    store: Any, fake_eb: Path, tmp_path: Path, services: dict[str, Any],
    monkeypatch: Any,
) -> None:
    """`r` on an `eb logs` item: eb prints Python bytes literals when piped; the run view shows
    the decoded text (as the `l` pane does), with secrets masked after decoding."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.checklist.vars import resolve_vars

    path = tmp_path / "logs.yaml"
    path.write_text(
        "name: Logs\nvars:\n  eb_env: live-prod\nphases:\n  - id: d\n    title: D\n"
        "    items:\n      - id: logs\n        text: Watch the logs\n"
        "        command: eb logs ${eb_env} --stream\n")
    checklist = load_checklist(path)
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "die")
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "8")
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    app = make_app(checklist, session, use_git=False, services=services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("r")
            await wait_for(pilot, lambda: finished(session, "d.logs"), what="the run to end")
            output = runbook(app).runs.output
            await wait_for(pilot, lambda: any("café" in line for line in output.plain_lines()),
                           what="the decoded line")
            lines = output.plain_lines()
        assert any(line.endswith("] \u2713 migrations applied \u2014 caf\u00e9 \u65e5\u672c")
                   for line in lines), lines
        assert not any("b'" in line for line in lines if line.startswith("[i-"))
    finally:
        session.close()


async def test_tick_on_success_after_a_failed_run_ticks_on_the_retry(
    store: Any, services: dict[str, Any], tmp_path: Path
) -> None:
    """A rollback step that fails, is fixed and run again: the failed run stays on record,
    the retry's exit 0 ticks the item (the latest run decides)."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.checklist.vars import resolve_vars

    marker = tmp_path / "fixed"
    checklist_file = tmp_path / "retry.yaml"
    checklist_file.write_text(f"""
name: Retry
phases:
  - id: rollback
    title: Rollback
    items:
      - id: restore
        text: Restore the previous version
        command: |
          test -e {marker} || {{ echo "not yet: {marker} missing"; exit 2; }}
          echo restored
        tick_on_success: true
""")
    checklist = load_checklist(checklist_file)
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    try:
        app = make_app(checklist, session, use_git=False, services=services)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, app, "rollback.restore")
            await pilot.press("r")
            await wait_for(pilot, lambda: finished(session, "rollback.restore"))
            state = session.state(checklist)
            assert state.items["rollback.restore"].state == "failed"
            marker.touch()  # the operator fixed what was missing
            await pilot.press("r")
            await wait_for(pilot, lambda: kinds(session, "rollback.restore").count(
                "command_finished") == 2 and session.state(checklist).items[
                    "rollback.restore"].state == "done", what="the retry to tick the step")
    finally:
        session.close()
    item = store.open(session.id, read_only=True).state(checklist).item("rollback.restore")
    assert item.state == "done" and [r.exit_code for r in item.runs] == [2, 0]
    assert item.runs[0].tail == [f"not yet: {marker} missing"]
