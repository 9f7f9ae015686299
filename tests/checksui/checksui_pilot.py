"""Pilot helpers shared by the checks UI tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from textual.pilot import Pilot

from rsdeploy_tui.session import Session, SessionState
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

START = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
"""When the test sessions start (the store's fixed clock)."""
SIZE = (110, 34)
Stored = Callable[[str], SessionState]


def runbook(app: Any) -> RunbookScreen:
    screen = app.screen
    assert isinstance(screen, RunbookScreen), f"expected the runbook, got {screen!r}"
    return screen


async def settle(pilot: Pilot[Any], screen: RunbookScreen) -> None:
    """Wait until no check is queued or running (pytest-timeout bounds a hang)."""
    while screen.checking.running_count:
        await pilot.pause(0.05)
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    while not condition():
        await pilot.pause(0.05)


def detail_text(screen: RunbookScreen) -> str:
    pane = screen._phase_pane()
    assert pane is not None
    return str(pane.detail.query_one("#detail-body").render())


def line_of(screen: RunbookScreen, qid: str) -> str:
    item_list = screen.current_list
    assert item_list is not None
    return str(item_list.get_option(qid).prompt)


def results(session: Session) -> list[str]:
    return [e.item for e in session.events if e.kind == "check_result"]
