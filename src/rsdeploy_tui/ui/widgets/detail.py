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
        """Replace what the panel shows.

        It is re-shown at every cursor move and every result, and a layout re-flows and
        repaints the whole screen (~10 ms, more than the rest of a key): the body is at least
        as tall as the panel (CSS), so a text that fits keeps the body's height, and only a
        change of height asks for a layout.
        """
        body = self.query_one("#detail-body", Static)
        if not update_changed(body, text, layout=False):  # re-shown on every event; mostly same
            return
        self.shown_text = text.plain
        width = body.content_region.width
        rows = body.get_content_height(self.size, self.size, width) if width > 0 else -1
        if max(rows, self.scrollable_content_region.height) != body.size.height:
            body.refresh(layout=True)

    def action_back(self) -> None:
        """Escape returns the focus to the list of the same tab."""
        for pane in self.ancestors:
            for child in pane.query("ItemList"):
                child.focus()
                return
