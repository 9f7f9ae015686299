"""Typed confirmation before a destructive command: type the exact text (like ``eb terminate``)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from rsdeploy_tui.ui.screens.dialog import Dialog
from rsdeploy_tui.ui.screens.typing import TypedInto


class TypedConfirmModal(TypedInto, Dialog[str | None]):
    """Dismisses with the typed text when it matches ``expected`` exactly, None when cancelled.

    A mismatch is refused in place (the dialog stays open and says so): Enter alone, a typo or
    a different environment name never runs anything.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, body: Text | str, expected: str, *, ok_label: str = "Run"
    ) -> None:
        super().__init__(classes="modal")
        self._title = title
        self._body = body
        self.expected = expected
        self._ok_label = ok_label
        self.refused = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="typed-confirm"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            yield Label(Text.assemble("Type ", (self.expected, "bold"), " to confirm:"))
            yield Input(id="typed")
            yield Label("", id="typed-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._ok_label, variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.ready_to_type(self.query_one("#typed", Input))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        typed = self.query_one("#typed", Input).value
        if typed == self.expected:
            self.close_with(typed)
            return
        self.refused += 1
        self.query_one("#typed-error", Label).update(
            f"Not {self.expected!r}: nothing was run. Type it exactly, or Escape.")
        self.ready_to_type(self.query_one("#typed", Input))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without running."""
        self.close_with(None)
