"""Small helpers for the live-output Pilot tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.widgets.run_output import RunOutputView


async def wait_for(pilot: Any, condition: Callable[[], object], timeout: float = 15.0,
                   what: str = "condition") -> None:
    """Let the app run until ``condition()`` is true (fails the test after ``timeout`` s)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await asyncio.sleep(0)


def runbook(app: Any) -> RunbookScreen:
    """The runbook screen under whatever modal is open."""
    for screen in app.screen_stack:
        if isinstance(screen, RunbookScreen):
            return screen
    raise AssertionError("no runbook screen")


def shown_view(app: Any) -> RunOutputView:
    """The run output view of the phase tab on screen."""
    pane = runbook(app)._phase_pane()
    assert pane is not None, "no phase tab on screen"
    return pane.query_one(RunOutputView)


async def goto(pilot: Any, app: Any, qid: str) -> None:
    """Highlight an item (switching tabs as needed) and wait until the controller is up."""
    screen = runbook(app)
    await wait_for(pilot, lambda: screen.runs.ready, what="the run controller")
    await pilot.pause()

    def there() -> bool:
        # The runbook places the cursor itself once after start-up: insist until it sticks.
        if screen.current_item is None or screen.current_item.qid != qid:
            screen.focus_item(screen.checklist.item(qid))
            return False
        return True

    await wait_for(pilot, there, what=f"the cursor on {qid}")
    await pilot.pause(0.05)
    assert screen.current_item is not None and screen.current_item.qid == qid


def kinds(session: Any, item: str | None = None) -> list[str]:
    """Event kinds recorded (optionally for one item), in order."""
    return [e.kind for e in session.events if item is None or e.item == item]
SIZE = (100, 34)
"""Terminal size of the live-output Pilot tests."""
