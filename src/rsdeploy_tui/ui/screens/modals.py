"""Small modals that return a value: a typed reason, a yes/no, the version and sprint."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from rsdeploy_tui.ui.screens.dialog import Dialog
from rsdeploy_tui.ui.screens.typing import TypedInto


class ReasonModal(TypedInto, Dialog[str | None]):
    """Ask for a line of text (skip reason, note, gate override reason).

    Dismisses with the stripped text, or None when cancelled. When ``required``, an empty
    answer is refused with a message instead of being accepted. ``choices`` (reasons already
    used in this session, newest first) are offered: up/down put one in the box, and typing
    the start of one suggests the rest (right arrow takes it).
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("up", "choice(1)", "Older reason", show=False),
        Binding("down", "choice(-1)", "Newer reason", show=False),
    ]

    def __init__(
        self,
        title: str,
        prompt: str,
        *,
        body: Text | str = "",
        ok_label: str = "Save",
        required: bool = True,
        placeholder: str = "",
        choices: Sequence[str] = (),
    ) -> None:
        super().__init__(classes="modal")
        self._title = title
        self._prompt = prompt
        self._body = body
        self._ok_label = ok_label
        self._required = required
        self._placeholder = placeholder
        self._choices = list(dict.fromkeys(c for c in choices if c))
        self._choice = -1  # index into choices of what up/down put in the box (-1: none)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            if self._body:
                yield Static(
                    Text(self._body) if isinstance(self._body, str) else self._body,
                    classes="dialog-body",
                )
            yield Label(Text(self._prompt))
            suggester = None
            if self._choices:
                from textual.suggester import SuggestFromList

                suggester = SuggestFromList(self._choices, case_sensitive=False)
            yield Input(placeholder=self._placeholder, id="reason", suggester=suggester)
            if self._choices:
                shown = ", ".join(f"'{c}'" for c in self._choices[:3])
                more = f" (+{len(self._choices) - 3} more)" if len(self._choices) > 3 else ""
                yield Label(Text(f"up/down: reasons used in this session: {shown}{more}",
                                 overflow="ellipsis", no_wrap=True),
                            id="reason-choices", classes="dialog-hint")
            yield Label("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._ok_label, variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reason-error", Label).display = False
        self.ready_to_type(self.query_one("#reason", Input))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        text = self.query_one("#reason", Input).value.strip()
        if self._required and not text:
            error = self.query_one("#reason-error", Label)
            error.update("A reason is required.")
            error.display = True
            self.ready_to_type(self.query_one("#reason", Input))
            return
        self.close_with(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without an answer."""
        self.close_with(None)

    def action_choice(self, step: int) -> None:
        """up: an older reason used in this session; down: a newer one (then empty)."""
        if not self._choices:
            return
        self._choice = max(-1, min(len(self._choices) - 1, self._choice + step))
        box = self.query_one("#reason", Input)
        box.value = self._choices[self._choice] if self._choice >= 0 else ""
        box.cursor_position = len(box.value)


class ConfirmModal(Dialog[bool]):
    """A yes/no question; ``y``/Enter on the default button answer, ``n``/Escape refuse."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, title: str, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal")
        self._title = title
        self._question = question
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(Text(self._question), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._yes} (y)", variant="warning", id="yes", compact=True)
                yield Button(f"{self._no} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        # The safe answer has the focus: Enter alone never confirms a destructive step.
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(value)


class DeploymentInfoModal(TypedInto, Dialog[dict[str, str] | None]):
    """Ask for the deployment's version tag and sprint when the session starts (skippable)."""

    # Priority bindings run when the app takes the key off its queue, before it forwards the
    # next keys to the focused widget: a burst "v1.4.2<Tab>14<Enter>" (tmux, a laggy SSH link)
    # moves the focus before "14" is delivered. A plain binding would move it only after the
    # Input had the "14" already queued.
    BINDINGS = [
        Binding("escape", "skip", "Skip"),
        Binding("tab", "field(1)", show=False, priority=True),
        Binding("shift+tab", "field(-1)", show=False, priority=True),
        Binding("enter", "enter", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__(classes="modal")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New deployment", classes="dialog-title")
            yield Static(
                "Version tag and sprint go into the deployment log and the messages. Escape skips.",
                classes="dialog-body",
            )
            yield Label("Version (e.g. v2.4.0)")
            yield Input(id="version")
            yield Label("Sprint")
            yield Input(id="sprint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", variant="primary", id="ok", compact=True)
                yield Button("Skip", id="skip", compact=True)

    def on_mount(self) -> None:
        self.ready_to_type(self.query_one("#version", Input))

    def action_field(self, step: int) -> None:
        """Tab / shift+tab: focus moves now (synchronously), not after queued keys."""
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_enter(self) -> None:
        """Enter in Version goes to Sprint now; elsewhere it takes its normal way, in order."""
        focused = self.focused
        if not (isinstance(focused, Input) and focused.id == "version"):
            raise SkipAction()
        self.ready_to_type(self.query_one("#sprint", Input))

    @on(Input.Submitted, "#sprint")
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        # The app hands keys over one at a time (ui/keyboard.py): every key typed before this
        # Enter is in its box already.
        self.close_with(
            {
                "version": self.query_one("#version", Input).value.strip(),
                "sprint": self.query_one("#sprint", Input).value.strip(),
            }
        )

    @on(Button.Pressed, "#skip")
    def action_skip(self) -> None:
        """Start without them."""
        self.close_with(None)
