"""The help screen: every key and what it does, from the same bindings the footer shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.glyphs import UNICODE, Glyphs
from rsdeploy_tui.ui.screens.dialog import Dialog

# (keys, what they do) in the order an operator learns them; a row without keys is a heading.
KEYS: list[tuple[str, str]] = [
    ("", "Runbook (the item list)"),
    ("up/down, k/j", "move between items"),
    ("left/right, 1-9", "switch tab (phases, then Log and Messages); the number is on the tab"),
    ("enter, tab / esc", "focus the detail panel / back to the list"),
    ("space", "tick and go to the next pending (done: asks, then unticks)"),
    ("s / S", "skip with a reason / skip every open item of the section"),
    ("F", "mark the item failed, with a reason"),
    ("n", "add a note"),
    ("r / x", "run the item's command / cancel its run"),
    ("o / w", "run output full screen (left/right scroll) / wrap long lines or not"),
    ("c", "run the item's check"),
    ("a / A", "the phase's checks, done items left out / done items too"),
    ("T", "tick the items whose check passed"),
    ("R", "start a rollback (with a reason) or go to its phase"),
    ("l / L", "eb logs pane / full screen"),
    ("g", "next pending item, across phases"),
    ("v", "set a value the item lacks, or see every value"),
    ("/", "filter items by text (enter keeps, escape clears)"),
    ("escape", "clear the filter, else cancel running checks (asks first)"),
    ("E", "finish the session (says what is still open first)"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q, ctrl+q", "quit (asks if work runs); prints how to resume"),
    ("", "eb logs pane (l; keys work when it has the focus)"),
    ("p / end", "pause / follow the newest lines"),
    ("f / g", "filter (text or /regex/) / switch log group"),
    ("w / y", "save the lines to the session directory / copy them"),
    ("escape", "back to the item list"),
    ("", "Log tab (the deployment log)"),
    ("r / s", "rebuild from the session / save it to the session directory"),
    ("", "Messages tab"),
    ("c / s / p", "copy / save to the session directory / post to notify_webhook_url"),
    ("r / escape", "refill from the session / back to the list of messages"),
]


KEY_WIDTH = max(len(keys) for keys, _ in KEYS)


class HelpScreen(Dialog[None]):
    """Lists every key; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, glyphs: Glyphs = UNICODE) -> None:
        super().__init__(classes="modal")  # centred over the dimmed runbook, like every dialog
        self._glyphs = glyphs

    def compose(self) -> ComposeResult:
        from rich.console import Group  # only when help is asked for: start-up time
        from rich.table import Table

        parts: list[Text | Table] = []
        table: Table | None = None
        for keys, text in KEYS:
            if not keys or table is None:
                table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
                table.add_column(style="bold", width=KEY_WIDTH, no_wrap=True)
                table.add_column()
                if parts:
                    parts.append(Text(""))
                if not keys:
                    parts.append(Text(text, style="bold underline"))
                parts.append(table)
                if not keys:
                    continue
            table.add_row(keys, text)
        with Vertical(classes="dialog help-dialog"):
            yield Label("Keys  (escape closes)", classes="dialog-title")
            with VerticalScroll():
                yield Static(Group(*parts))
            yield Label(
                Text("Marks: [ ] pending  [x] done  [-] skipped  [!] failed  [~] running"),
                classes="dialog-hint",
            )
            yield Label(
                Text(
                    f"Check: {self._glyphs.check_none} not run  "
                    f"{self._glyphs.check_pass} passed  "
                    f"{self._glyphs.check_fail} failed or error  "
                    f"{self._glyphs.check_running} running  "
                    f"{view.STALE_GLYPH} stale"
                ),
                classes="dialog-hint",
            )

    def action_close(self) -> None:
        """Back to the runbook."""
        self.dismiss(None)
