"""Fewer keystrokes: F (failed with a reason), S (skip a section), E (finish), reused reasons.

Every assertion is on the stored session, reloaded read-only from disk.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.ui.screens.modals import ConfirmModal, ReasonModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


async def type_text(pilot: object, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])  # type: ignore[attr-defined]


async def test_f_marks_a_manual_item_failed_with_its_reason(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")  # pre.db-restore-test, a manual item
        await pilot.press("F")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # empty: refused, the dialog stays
        assert isinstance(app.screen, ReasonModal)
        await type_text(pilot, "staging restore failed")
        await pilot.press("enter")
        assert isinstance(app.screen, RunbookScreen)
        detail = app.screen.query_one("ItemDetail").shown_text  # type: ignore[attr-defined]
        assert "by ana: staging restore failed" in detail
    found = stored(session.id).item("pre.db-restore-test")
    assert (found.state, found.reason, found.by) == ("failed", "staging restore failed", "ana")


async def test_capital_s_skips_every_open_item_of_the_section_with_one_reason(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    session.record("tick", item="pre.tests-pass")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "down", "down")  # pre.no-debug, section "code"
        assert app.screen.current_item.qid == "pre.no-debug"  # type: ignore[attr-defined]
        await pilot.press("S")
        assert isinstance(app.screen, ReasonModal)
        await type_text(pilot, "no code change")
        await pilot.press("enter")
    state = stored(session.id)
    assert state.item("pre.tests-pass").state == "done"  # a done item stays done
    for qid in ("pre.no-debug", "pre.env-vars"):
        assert (state.item(qid).state, state.item(qid).reason) == ("skipped", "no code change")
    # the other section is untouched
    assert state.item("pre.db-backup").state == "pending"


async def test_skip_offers_the_reasons_already_used_in_the_session(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    session.record("skip", item="pre.tests-pass", reason="done by CI")
    session.record("skip", item="pre.no-debug", reason="covered by review")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        dialog = app.screen
        assert isinstance(dialog, ReasonModal)
        hint = str(dialog.query_one("#reason-choices").render())
        assert "'covered by review', 'done by CI'" in hint
        await pilot.press("up", "up")  # the newest first, then the one before
        assert dialog.query_one("#reason", Input).value == "done by CI"
        await pilot.press("enter")
    assert stored(session.id).item("pre.db-backup").reason == "done by CI"


async def test_e_finishes_the_session_after_saying_what_is_open(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    session.record("fail", item="pre.db-restore-test", reason="no staging")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        dialog = app.screen
        assert isinstance(dialog, ConfirmModal)
        body = str(dialog.query_one(".dialog-body").render())
        assert "0/10 items done or skipped, 3 CRITICAL pending." in body
        assert "pre.db-restore-test" in body and "pre.db-backup" in body
        await pilot.press("n")
        assert store.open(session.id, read_only=True).state().status == "active"
        await pilot.press("E", "y")
    assert store.open(session.id, read_only=True).state().status == "finished"
    assert app.return_value == session.id
