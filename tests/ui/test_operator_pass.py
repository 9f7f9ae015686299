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
