"""A read-only runbook follows the session live: what the driving process records shows here.

Every second the journal is looked at in a thread (one ``stat`` when nothing changed, a read
when it did), never on the event loop; new events re-render the screen from the session, which
redraws only the item lines whose state changed. Who holds the session is re-read too, so the
read-only banner says who drives it now.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from rsdeploy_tui.errors import RsdeployError

if TYPE_CHECKING:
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen

POLL_S = 1.0
"""How often a read-only runbook looks for new events (the viewer is at most ~1 s behind)."""


class SessionFollower:
    """Polls a read-only screen's session and re-renders what changed."""

    def __init__(self, screen: RunbookScreen) -> None:
        self.screen = screen
        self._busy = False
        self._problem: str | None = None
        self._holder = screen.session.holder
        self._reported_loss = False

    def start(self) -> None:
        """Poll every ``POLL_S`` while the screen lives: a read-only session's journal, a
        shared holder's standing (it turns read-only when another machine took over)."""
        if self.screen.session.read_only:
            self.screen.set_interval(POLL_S, self.poll)
        elif getattr(self.screen.session, "shared", None) is not None:
            self.screen.set_interval(POLL_S, self.watch_shared)

    def watch_shared(self) -> None:
        """Say at once when this holder lost the session to another machine (no key needed),
        then follow the store like any viewer: the screen shows its journal from now on (this
        machine's events it lacked were set aside, ``SharedSync.set_aside``)."""
        session = self.screen.session
        shared = getattr(session, "shared", None)
        lost = getattr(shared, "told", None)
        if lost is None or self._reported_loss:
            return
        self._reported_loss = True
        self.screen.notify(lost.message, title=lost.title, severity="error", timeout=30)
        self.screen.add_class("-read-only")
        self.screen.state = session.state(self.screen.checklist)
        self.screen.render_state()  # keys grey out: the session is read-only now
        if not self.screen.query("#banner"):
            self.screen.mount(Static(self.screen._read_only_text(), id="banner"),
                              before="#rollback-banner")
        self._holder = session.holder
        self._show_holder()
        if getattr(session, "follow_shared", None) is not None:
            self.screen.set_interval(POLL_S, self.poll)

    async def poll(self) -> None:
        """One look at the journal; a slow disk makes the next tick wait, never the screen."""
        if self._busy:
            return
        session = self.screen.session
        self._busy = True
        try:
            changes = await asyncio.to_thread(session.read_changes)
        except (RsdeployError, OSError) as error:
            message = (f"{error.title}: {error.message}" if isinstance(error, RsdeployError)
                       else f"Could not read the session journal: {error}")
            if message != self._problem:  # said once, not every second
                self._problem = message
                self.screen.notify(message + " The screen shows the session as last read.",
                                   title="Not following the session", severity="error",
                                   timeout=15)
            return
        finally:
            self._busy = False
        self._problem = None
        new = session.apply_changes(changes)
        if new:
            self.screen.state = session.state(self.screen.checklist)
            self.screen.render_state()
            runs = self.screen._runs  # noqa: SLF001 - built after the first frame, if at all
            if runs is not None:
                runs.attach_new()  # a run started by the driver since: its output shows here
        if session.holder != self._holder:
            self._holder = session.holder
            self._show_holder()

    def _show_holder(self) -> None:
        holder = self._holder
        text = (f"READ-ONLY: this session is held by {holder.describe()}; nothing you do here "
                "changes it." if holder is not None else
                "READ-ONLY: nobody holds this session now; quit and resume it to drive it.")
        for banner in self.screen.query("#banner").results(Static):
            banner.update(Text(text))
