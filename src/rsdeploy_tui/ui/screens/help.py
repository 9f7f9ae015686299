"""The help screen: every key and what it does, from the same bindings the footer shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from rsdeploy_tui.ui.glyphs import UNICODE, Glyphs
from rsdeploy_tui.ui.screens.dialog import Dialog

# (keys, what they do) in the order an operator learns them.
KEYS: list[tuple[str, str]] = [
    ("up/down, k/j", "move between items"),
    ("left/right, 1-9", "switch tab (phases, Deployment Log, Messages)"),
    ("enter, tab / esc", "focus the detail panel / back to the list"),
    ("space", "tick and go to the next pending (done: asks, then unticks)"),
    ("s / n", "skip with a reason / add a note"),
    ("r / x", "run the item's command / cancel its run"),
    ("c / a", "run the item's check / every check of the phase"),
    ("T", "tick the items whose check passed"),
    ("R", "start a rollback (with a reason) or go to its phase"),
    ("l / L", "eb logs pane / full screen"),
    ("g", "next pending item, across phases"),
    ("v", "set a value the item lacks, or see every value"),
    ("/", "filter items by text (enter keeps, escape clears)"),
    ("escape", "clear the filter, else cancel running checks (asks first)"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q, ctrl+q", "quit (asks if work runs); prints how to resume"),
]


class HelpScreen(Dialog[None]):
    """Lists every key; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, glyphs: Glyphs = UNICODE) -> None:
        super().__init__(classes="modal")  # centred over the dimmed runbook, like every dialog
        self._glyphs = glyphs

    def compose(self) -> ComposeResult:
        from rich.table import Table  # only when help is asked for: start-up time

        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        table.add_column(style="bold")
        table.add_column()
        for keys, text in KEYS:
            table.add_row(keys, text)
        with Vertical(classes="dialog help-dialog"):
            yield Label("Keys  (escape closes)", classes="dialog-title")
            with VerticalScroll():
                yield Static(table)
            yield Label(
                Text("Marks: [ ] pending  [x] done  [-] skipped  [!] failed  [~] running"),
                classes="dialog-hint",
            )
            yield Label(
                Text(
                    f"Check: {self._glyphs.check_none} not run  "
                    f"{self._glyphs.check_pass} passed  "
                    f"{self._glyphs.check_fail} failed or error"
                ),
                classes="dialog-hint",
            )

    def action_close(self) -> None:
        """Back to the runbook."""
        self.dismiss(None)
