"""Where the runbook's cursor lands, and remembering where it was at quit.

A mixin of ``RunbookScreen``, kept apart so each file stays small. The landing item itself is
decided by ``ui/landing.py`` (pure): the running item, else the recorded cursor, else the next
pending; this places the cursor on it once, in the first phase tab built, and records ``cursor``
at quit/SIGHUP so a resume lands there again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.ui import landing, view

if TYPE_CHECKING:
    from textual.screen import Screen

    from rsdeploy_tui.checklist.model import Item
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.widgets.phase_pane import PhasePane

    _Base = Screen[None]
else:
    _Base = object


class RunbookLanding(_Base):
    """The cursor's first place and its memory across a quit (see ``ui/landing.py``)."""

    if TYPE_CHECKING:  # set by RunbookScreen.__init__
        session: Session
        state: SessionState
        _cursor_placed: bool
        _landing: Item | None

        @property
        def current_item(self) -> Item | None: ...

    def _place_cursor(self, phase_pane: PhasePane) -> None:
        """Once, in the first phase tab built: the landing item, else its next pending one."""
        if not self._cursor_placed:
            self._cursor_placed = True
            target = self._landing
            if target is None or target not in phase_pane.phase.items:
                target = view.next_pending(phase_pane.phase.items, self.state, None)
            if target is not None:
                phase_pane.item_list.highlight_qid(target.qid)

    def remember_cursor(self) -> None:
        """Record where the cursor is (quit, SIGHUP), so a resume lands there again.

        Straight to the session (no re-render: the app is leaving). Nothing when read-only,
        when it has not moved since the last time, or when the store refuses: quitting must
        go on, and the resume then lands on the next pending item instead.
        """
        item = self.current_item
        if item is None or self.session.read_only:
            return
        if landing.last_cursor(self.session.events) == item.qid:
            return
        try:
            self.session.record(landing.CURSOR_EVENT, qid=item.qid)
        except (RsdeployError, OSError):
            return  # only a convenience is lost; every tick and run is already durable
