"""Where the cursor lands when a session opens, and whether a rollback is complete.

Pure functions of (checklist, session state, events): no widgets, so the rules are tested
without a screen. Resume lands on the work: the item that is running, else where the cursor
was when the app stopped (the last ``cursor`` event), else the next pending item. Once a
rollback has started, the phases before the Rollback phase are behind the operator: the cursor
never lands there (Post-Deployment items are pending, but nobody verifies a deployment that was
rolled back).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.checklist.model import ROLLBACK_PHASE
from rsdeploy_tui.ui import view

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item, Phase
    from rsdeploy_tui.session import SessionState

CURSOR_EVENT = "cursor"
"""Recorded on quit and on SIGHUP: data ``qid``, the item the cursor was on."""


def last_cursor(events: Iterable[Any]) -> str | None:
    """The item of the newest ``cursor`` event (None when there is none)."""
    for event in reversed(list(events)):
        if event.kind == CURSOR_EVENT:
            found = event.data.get("qid")
            return str(found) if found else None
    return None


def rollback_phase(checklist: Checklist) -> Phase | None:
    """The checklist's Rollback phase, if it has one."""
    return next((p for p in checklist.phases if p.id == ROLLBACK_PHASE), None)


def rollback_complete(checklist: Checklist, state: SessionState) -> bool:
    """A rollback started and every item of the Rollback phase is done or skipped.

    A failed or running step means it is not complete; so does a checklist without a Rollback
    phase (nothing says it is done).
    """
    phase = rollback_phase(checklist)
    if state.rollback is None or phase is None or not phase.items:
        return False
    return all(view.state_name(state, i.qid) in ("done", "skipped") for i in phase.items)


def _after_rollback(checklist: Checklist, state: SessionState) -> tuple[Phase, ...]:
    """The phases the cursor may land in: all, or from the Rollback phase on once started."""
    phases = checklist.phases
    phase = rollback_phase(checklist)
    if state.rollback is None or phase is None:
        return phases
    return phases[phases.index(phase):]


def landing_item(checklist: Checklist, state: SessionState, cursor: str | None) -> Item | None:
    """The item the cursor goes to when the session opens (see the module docstring)."""
    phases = _after_rollback(checklist, state)
    allowed = [item for phase in phases for item in phase.items]
    running = next((i for i in checklist.iter_items()
                    if view.state_name(state, i.qid) == "running"), None)
    if running is not None:
        return running  # wherever it is: it is what the operator must watch
    if cursor:
        found = checklist.find_item(cursor)
        if found is not None and found in allowed:
            return found
    if state.rollback is None:
        phase = view.resume_phase(checklist, state)
        return view.next_pending(phase.items, state, None) or (
            phase.items[0] if phase.items else None)
    pending = view.next_pending(allowed, state, None)
    if pending is not None:
        return pending
    rollback = rollback_phase(checklist)
    return rollback.items[-1] if rollback is not None and rollback.items else None
