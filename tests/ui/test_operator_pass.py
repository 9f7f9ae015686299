"""Defects found in an operator's acceptance pass, each pinned by what the operator noticed."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import Vertical

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState
from rsdeploy_tui.ui.screens.help import HelpScreen

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


async def test_help_is_a_centred_dialog_over_the_runbook(mini: Checklist, session: Session) -> None:
    """`?` drew its box at the top-left corner over a blank screen (it lacked the modal style)."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one(".help-dialog", Vertical)
        left = dialog.region.x
        right = SIZE[0] - dialog.region.right
        assert left > 0 and abs(left - right) <= 1, dialog.region
        assert dialog.region.y > 0, dialog.region


async def test_keys_do_nothing_while_the_terminal_is_too_small(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """At 70x20 only the too-small message shows; a blind space ticked the hidden item."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.press("space", "s", "n", "2", "space")
        await pilot.pause()
        assert not app.screen.is_modal
    state = stored(session.id)
    assert all(s.state == "pending" and not s.notes for s in state.items.values())


async def test_quit_still_works_while_the_terminal_is_too_small(
    mini: Checklist, session: Session
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.press("q")
    assert app.return_value == session.id


async def test_keys_work_again_once_the_terminal_is_enlarged(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        await pilot.press("space")
    assert stored(session.id).item("pre.db-backup").state == "done"
