"""The rollback banner (a criterion fired, or R with a reason) and the Rollback phase's pre-fill."""

from __future__ import annotations

from typing import Any

from checksui_pilot import SIZE, Stored, detail_text, runbook, settle
from textual.widgets import Input

from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.ui.rollback_banner import RollbackBanner
from rsdeploy_tui.ui.screens.modals import ReasonModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs


def banner_text(screen: RunbookScreen) -> str:
    banner = screen.query_one(RollbackBanner)
    return str(banner.render()) if banner.display else ""


async def test_failed_check_on_trigger_item_raises_banner_once(
    app_for: Any, session: Session, stored: Stored
) -> None:
    session.record("phase_entered", phase="post")
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        assert banner_text(screen) == ""
        screen.focus_item(screen.checklist.item("post.site-up"))
        await pilot.press("c")
        await settle(pilot, screen)
        shown = banner_text(screen)
        assert "Critical functionality broken (site down)" in shown
        assert "post.site-up" in shown
        # Failing again does not record a second rollback for the same criterion.
        await pilot.press("c")
        await settle(pilot, screen)
        # R now goes to the Rollback phase (the rollback has started).
        await pilot.press("R")
        assert screen.current_item.qid == "rollback.redeploy-previous"
    started = [e for e in session.events if e.kind == "rollback_started"]
    assert len(started) == 1
    assert started[0].data["trigger"] == "site-down"
    assert "post.site-up" in started[0].data["reason"]
    assert stored(session.id).rollback.trigger == "site-down"  # type: ignore[union-attr]


async def test_R_with_typed_reason_records_and_opens_rollback_phase(
    app_for: Any, session: Session, stored: Stored
) -> None:
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        await pilot.press("R")
        assert isinstance(app.screen, ReasonModal)
        assert "Critical functionality broken" in str(app.screen.query_one(".dialog-body").render())
        app.screen.query_one(Input).value = "customers cannot pay"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen)
        assert screen.query_one("#phases", PhaseTabs).active == "phase-rollback"
        assert "customers cannot pay" in banner_text(screen)
    rollback = stored(session.id).rollback
    assert rollback is not None
    assert rollback.reason == "customers cannot pay" and rollback.trigger is None


async def test_banner_is_back_on_resume(
    app_for: Any, session: Session, store: SessionStore
) -> None:
    session.record("rollback_started", reason="error rate 12%", trigger=None)
    session.close()
    again = store.open(session.id, operator="ana")
    try:
        app = app_for(again)
        async with app.run_test(size=SIZE):
            assert "error rate 12%" in banner_text(runbook(app))
    finally:
        again.close()


async def test_rollback_step_shows_missing_fact_then_prefilled_command(
    app_for: Any, session: Session
) -> None:
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        screen.focus_item(screen.checklist.item("rollback.redeploy-previous"))
        await pilot.pause()
        shown = detail_text(screen)
        assert "Not ready" in shown
        assert "previous_version not captured" in shown
        assert "Capture current EB version" in shown
        screen.record("fact", name="previous_version", value="app-v41")
        await pilot.pause()
        shown = detail_text(screen)
        assert "eb deploy checks-prod --version app-v41" in shown
        assert "Not ready" not in shown
