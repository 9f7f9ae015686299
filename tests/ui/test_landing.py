"""Resume lands on the work: the running item, else where the cursor was at quit, else the next
pending item — and never on Post-Deployment once a rollback has started."""

from __future__ import annotations

from collections.abc import Callable

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.session import Session, SessionState, SessionStore, derive_state
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.ui.landing import landing_item, last_cursor, rollback_complete
from rsdeploy_tui.ui.rollback_banner import RollbackBanner
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

SIZE = (100, 32)
Stored = Callable[[str], SessionState]
NO_REATTACH = {"reattach": False, "banner": False}


async def landed(pilot: object) -> str:
    """The qid under the cursor once the first tab is built (waits for it, bounded)."""
    app = pilot.app  # type: ignore[attr-defined]
    for _ in range(200):
        screen = app.screen
        if isinstance(screen, RunbookScreen) and screen.current_item is not None:
            return screen.current_item.qid
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError("the runbook never showed an item")


def events(*specs: tuple[str, str | None, dict[str, object]]) -> list[Event]:
    return [Event(n, kind, "2026-11-26T02:00:00+00:00", "ana", "h", item, data)
            for n, (kind, item, data) in enumerate(specs, 1)]


def test_a_running_item_wins_over_the_cursor_and_pending_items() -> None:
    checklist = load_checklist()
    found = events(("tick", "pre.unit-tests", {}),
                   ("command_started", "deploy.eb-deploy", {"run": "r1", "command": "eb"}),
                   ("cursor", None, {"qid": "pre.integration-tests"}))
    state = derive_state(found, checklist)
    assert landing_item(checklist, state, last_cursor(found)).qid == "deploy.eb-deploy"


def test_the_cursor_wins_over_the_next_pending_item() -> None:
    checklist = load_checklist()
    found = events(("cursor", None, {"qid": "post.health-check"}))
    state = derive_state(found, checklist)
    assert landing_item(checklist, state, last_cursor(found)).qid == "post.health-check"
    assert landing_item(checklist, state, None).qid == checklist.phases[0].items[0].qid


def test_after_a_completed_rollback_never_post_deployment() -> None:
    """Post-Deployment's items are pending, but the deployment was rolled back: the cursor
    (even one left there) goes to what follows the rollback."""
    checklist = load_checklist()
    rollback = checklist.phase("rollback")
    specs: list[tuple[str, str | None, dict[str, object]]] = [
        ("rollback_started", None, {"reason": "login broken", "trigger": None})]
    specs += [("tick", item.qid, {}) for item in rollback.items]
    specs.append(("cursor", None, {"qid": "post.health-check"}))
    found = events(*specs)
    state = derive_state(found, checklist)
    assert rollback_complete(checklist, state)
    target = landing_item(checklist, state, last_cursor(found))
    assert target is not None and target.phase_id == "analysis"
    # while the rollback is in progress: its next step
    in_progress = derive_state(found[:3], checklist)
    assert not rollback_complete(checklist, in_progress)
    assert landing_item(checklist, in_progress, None).qid == rollback.items[2].qid


async def test_quit_records_the_cursor_and_a_resume_lands_there(
    mini: Checklist, session: Session, store: SessionStore, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False, services=NO_REATTACH)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "down")  # post.login: not where a resume would go by itself
        await pilot.press("q")
    assert last_cursor(store.open(session.id, read_only=True).events) == "post.login"
    session.close()
    again = store.open(session.id, operator="ana")
    try:
        app = make_app(mini, again, use_git=False, services=NO_REATTACH)
        async with app.run_test(size=SIZE) as pilot:
            assert await landed(pilot) == "post.login"
    finally:
        again.close()


async def test_resume_lands_on_the_running_item(mini: Checklist, session: Session) -> None:
    session.record("tick", item="pre.db-backup")
    session.record("command_started", item="deploy.eb-deploy", run="r1", command="eb deploy",
                   pid=None, log=None)
    session.record("cursor", qid="pre.tests-pass")
    app = make_app(mini, session, use_git=False, services=NO_REATTACH)
    async with app.run_test(size=SIZE) as pilot:
        assert await landed(pilot) == "deploy.eb-deploy"


async def test_the_banner_says_when_the_rollback_is_complete(
    session: Session, store: SessionStore
) -> None:
    checklist = load_checklist()
    s = store.create(checklist, vars={}, operator="ana")
    try:
        s.record("rollback_started", reason="login broken", trigger=None)
        for item in checklist.phase("rollback").items:
            s.record("tick", item=item.qid)
        app = make_app(checklist, s, use_git=False, services=NO_REATTACH)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            banner = app.screen.query_one(RollbackBanner)
            assert banner.has_class("-complete")
            assert "ROLLBACK COMPLETE" in str(banner.render())
            screen = app.screen
            assert isinstance(screen, RunbookScreen) and screen.current_phase is not None
            assert screen.current_phase.id == "analysis"
    finally:
        s.close()
