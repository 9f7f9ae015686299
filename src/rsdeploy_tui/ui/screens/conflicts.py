"""The decision on events set aside after a conflict between machines (#18).

Shown when a session opens read-only because a side file waits for a decision
(``session.conflicts``): it lists the set-aside events as the deployment log words them, every
one the operator did ticked for re-recording; ``r`` records the ticked ones again on top of the
store's journal, ``k`` keeps the store's journal (the events stay in the file), Escape decides
later (the session stays read-only). The dialog returns the choice; the App records it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from rsdeploy_tui.ui.screens.dialog import Dialog

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session.conflicts import SideFile

Decision = tuple[str, str, "list[int] | None"]
"""(side file name, ``rerecord`` | ``keep_store``, event numbers to record again)."""


class ConflictModal(Dialog["Decision | None"]):
    """This machine's events set aside after a conflict: see them, and decide."""

    DEFAULT_CSS = """
    ConflictModal .conflict-dialog { width: 100; }
    ConflictModal SelectionList { height: auto; max-height: 14; }
    ConflictModal .conflict-other { color: $text-muted; height: auto; max-height: 4; }
    """

    BINDINGS = [
        Binding("r", "rerecord", "Re-record ticked"),
        Binding("k", "keep_store", "Keep the store's journal"),
        Binding("escape", "later", "Decide later"),
    ]

    def __init__(self, side: SideFile, checklist: Checklist | None, session_id: str,
                 waiting: int = 1) -> None:
        super().__init__(classes="modal")
        self.side = side
        self._checklist = checklist
        self._session_id = session_id
        self._waiting = waiting

    def compose(self) -> ComposeResult:
        from rsdeploy_tui.reports.wording import event_line, run_commands

        commands = run_commands(self.side.events)
        replayable = self.side.replayable()
        others = [e for e in self.side.events if e not in replayable]
        more = f" (1 of {self._waiting} side files)" if self._waiting > 1 else ""
        with Vertical(classes="dialog conflict-dialog"):
            yield Label(Text(f"Events set aside after a conflict between machines{more}"),
                        classes="dialog-title")
            yield Static(Text(
                "Another machine recorded events in this session on numbers this machine had "
                f"used. This machine's {len(self.side.events)} events were kept in "
                f"{self.side.path}; the session shows the shared journal and stays read-only "
                "until you decide. Ticked events are recorded again on top of it (marked with "
                "their original time and operator); the file is never deleted."),
                classes="dialog-body")
            yield SelectionList[int](
                *(Selection(Text(event_line(e, self._checklist, commands)), e.seq, True)
                  for e in replayable), id="conflict-events")
            if others:
                yield Static(Text("Also in the file, never recorded again: " + "; ".join(
                    event_line(e, self._checklist, commands) for e in others)),
                    classes="conflict-other")
            yield Label("", id="conflict-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Re-record ticked (r)", variant="primary", id="rerecord",
                             compact=True)
                yield Button("Keep the store's journal (k)", id="keep_store", compact=True)
                yield Button("Decide later (Esc)", id="later", compact=True)

    def on_mount(self) -> None:
        self.query_one("#conflict-error", Label).display = False
        self.query_one(SelectionList).focus()

    @property
    def ticked(self) -> list[int]:
        """The event numbers ticked for re-recording."""
        return sorted(self.query_one(SelectionList).selected)

    @on(Button.Pressed, "#rerecord")
    def action_rerecord(self) -> None:
        """Record the ticked events again (nothing ticked: say so, stay)."""
        ticked = self.ticked
        if not ticked:
            error = self.query_one("#conflict-error", Label)
            error.update("Nothing is ticked: tick events to record again, or keep the store's "
                         "journal (k).")
            error.display = True
            return
        every = [e.seq for e in self.side.replayable()]
        self.dismiss((self.side.name, "rerecord", None if ticked == every else ticked))

    @on(Button.Pressed, "#keep_store")
    def action_keep_store(self) -> None:
        """Keep the store's journal; the events stay in the file (recorded)."""
        self.dismiss((self.side.name, "keep_store", None))

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        """Decide later: the session stays read-only."""
        self.dismiss(None)
