"""The Deployment Log and Communication widgets in a small host app (Pilot and snapshots)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from reports_factory import CANARY, START, FixedClock, frozen, make_store, session_vars
from textual.widgets import Input, Markdown, TextArea
from widget_host import WidgetHost

from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.widgets.communication import CommunicationPanel
from rsdeploy_tui.ui.widgets.deploy_log import DeploymentLogView

CLOCK = FixedClock(START + timedelta(hours=1))


def _session(tmp_path: Path) -> tuple[Session, Any, dict[str, str]]:
    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    values = session_vars(checklist, tmp_path)
    session = store.create(checklist, vars=values, operator="ana")
    session.record("fact", name="changes", value=["Manager assignment", "Approval fix"])
    session.record("tick", "pre.unit-tests")
    session.record("note", "pre.known-issues", text=f"Safari thumbnails slow; key {CANARY}")
    return session, checklist, values


def _communication(session: Session, checklist: Any, values: dict[str, str],
                   save_dir: Path | None = None) -> CommunicationPanel:
    return CommunicationPanel(checklist, session, vars=values, clock=CLOCK, use_git=False,
                              save_dir=save_dir)


def _deploy_log(session: Session, checklist: Any, save_dir: Path | None = None
                ) -> DeploymentLogView:
    return DeploymentLogView(checklist, session, clock=CLOCK, use_git=False, save_dir=save_dir)


async def test_copy_key_sends_osc52_with_the_edited_message(tmp_path: Path) -> None:
    session, checklist, values = _session(tmp_path)
    with session:
        app = WidgetHost(lambda: _communication(session, checklist, values))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            written: list[str] = []
            driver = app._driver
            assert driver is not None
            original = driver.write
            driver.write = lambda data: (written.append(data), original(data))[1]  # type: ignore[method-assign]
            # the operator edits the subject, goes back to the list, copies
            await pilot.click("#comm-subject")
            app.query_one("#comm-subject", Input).value = "Deploying Sprint 12 tonight"
            await pilot.press("escape", "c")
            await pilot.pause()
        expected = app.clipboard
        assert expected.startswith("Subject: Deploying Sprint 12 tonight\n\nTeam,")
        assert "We will be deploying Sprint 12 updates to production on 2026-11-20" in expected
        assert CANARY not in expected  # the note with the secret feeds "Known issues"
        osc = f"\x1b]52;c;{base64.b64encode(expected.encode()).decode()}\a"
        assert osc in written


async def test_messages_keep_edits_when_switching_and_refill_drops_them(tmp_path: Path) -> None:
    session, checklist, values = _session(tmp_path)
    with session:
        app = WidgetHost(lambda: _communication(session, checklist, values, tmp_path / "out"))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            panel = app.query_one(CommunicationPanel)
            body = app.query_one("#comm-body", TextArea)
            body.load_text("Edited by hand")
            await pilot.press("down")  # next message
            await pilot.pause()
            assert body.text.startswith("Team,\n\nDeployment in progress: v1.4.0 (Sprint 12)")
            await pilot.press("up")
            await pilot.pause()
            assert body.text == "Edited by hand"
            await pilot.press("s")
            await pilot.pause()
            saved = tmp_path / "out" / f"pre_deployment-{session.id}.txt"
            assert saved.read_text().endswith("\n\nEdited by hand\n")
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert body.text.startswith("Team,\n\nWe will be deploying Sprint 12")
            assert panel.edits == {}


async def test_deploy_log_refreshes_from_the_session_and_saves(tmp_path: Path) -> None:
    session, checklist, _ = _session(tmp_path)
    with session:
        app = WidgetHost(lambda: _deploy_log(session, checklist, tmp_path / "out"))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            view = app.query_one(DeploymentLogView)
            assert "**Version**: v1.4.0" in view.shown
            assert "### Rollback Required\n- No" in view.shown
            assert "| Item | State | By | When | Evidence |" not in view.shown
            session.record("rollback_started", reason="login broken",
                           trigger="login-failure")
            view.query_one("#deploy-log-scroll").focus()
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "- Reason: login broken" in view.text
            markdown = app.query_one("#deploy-log", Markdown)
            assert "login broken" in markdown.source
            await pilot.press("s")
            await pilot.pause()
        saved = (tmp_path / "out" / f"deployment-log-{session.id}.md").read_text()
        assert saved == view.text
        assert "| All unit tests passing (`python manage.py test`) (`pre.unit-tests`) | ✅ done" \
            in saved
        assert CANARY not in saved


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Session ids end in a random suffix; snapshots need the same one every run."""
    from rsdeploy_tui.session import store

    real = store.new_session_id
    monkeypatch.setattr(store, "new_session_id", lambda moment: real(moment)[:-4] + "beef")


async def _settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_snapshot_communication_tab(snap_compare: Any, tmp_path: Path, fixed_ids: None) -> None:
    session, checklist, values = _session(tmp_path)
    with session:
        app = WidgetHost(lambda: _communication(session, checklist, values))
        assert snap_compare(app, terminal_size=(110, 34), run_before=_settle)


def test_snapshot_deployment_log_tab(snap_compare: Any, tmp_path: Path, fixed_ids: None) -> None:
    session, checklist, _ = _session(tmp_path)
    with session:
        app = WidgetHost(lambda: _deploy_log(session, checklist))
        assert snap_compare(app, terminal_size=(110, 34), run_before=_settle)


async def test_after_a_rollback_the_success_message_needs_a_typed_confirmation(
        tmp_path: Path) -> None:
    from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal
    from rsdeploy_tui.ui.widgets.communication import UNFIT_CONFIRM

    session, checklist, values = _session(tmp_path)
    session.record("rollback_started", reason="Health check answering 502", trigger=None)
    out = tmp_path / "out"
    with session:
        app = WidgetHost(lambda: _communication(session, checklist, values, out))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            panel = app.query_one(CommunicationPanel)
            assert panel.current == "rollback"  # the message to send is offered first
            panel.query_one("#comm-messages").highlighted = list(panel.messages).index(
                "post_deployment")
            await pilot.pause()
            assert panel.current == "post_deployment"
            assert "Does not fit" in str(panel.query_one("#comm-status").render())
            panel.query_one("#comm-messages").focus()
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, TypedConfirmModal)
            await pilot.press("escape")  # not confirmed: nothing saved
            await pilot.pause()
            assert not (out / f"post_deployment-{session.id}.txt").exists()
            panel.query_one("#comm-messages").focus()
            await pilot.press("s")
            await pilot.pause()
            await pilot.press(*UNFIT_CONFIRM, "enter")
            await pilot.pause()
            assert (out / f"post_deployment-{session.id}.txt").exists()
