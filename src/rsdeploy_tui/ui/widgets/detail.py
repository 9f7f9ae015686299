"""The detail panel: everything about the highlighted item, scrollable and focusable."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from rsdeploy_tui.ui.widgets.changed import update_changed


class ItemDetail(VerticalScroll, can_focus=True):
    """Scrollable panel showing one item's text, help, command, check, notes and history."""

    BINDINGS = [("escape", "back", "Back to list")]

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    shown_text = ""
    """The plain text last shown (what the operator reads; tests assert on it)."""

    def show(self, text: Text) -> None:
        """Replace what the panel shows."""
        # re-shown on every event; mostly the same
        if update_changed(self.query_one("#detail-body", Static), text):
            self.shown_text = text.plain

    def action_back(self) -> None:
        """Escape returns the focus to the list of the same tab."""
        for pane in self.ancestors:
            for child in pane.query("ItemList"):
                child.focus()
                return
