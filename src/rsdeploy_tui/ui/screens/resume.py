"""The launch question when an unfinished session of the same checklist exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from rsdeploy_tui.ui.screens.dialog import Dialog
from rsdeploy_tui.ui.view import short_time

RESUME, NEW, READ_ONLY = "resume", "new", "read_only"


def summary_text(summary: Any, phase_titles: Mapping[str, str] | None = None) -> Text:
    """Progress, operator and last activity of a stored session (a ``SessionSummary``);
    ``phase_titles`` (id -> title) names the phase where work stopped."""
    text = Text()
    text.append("Session ", style="dim")
    text.append(f"{summary.id}\n", style="bold")
    text.append("Checklist ", style="dim")
    text.append(f"{summary.checklist}\n")
    text.append("Progress ", style="dim")
    text.append(f"{summary.done}/{summary.total} done")
    if summary.critical_pending:
        text.append(f", {summary.critical_pending} critical pending", style="bold red")
    text.append("\n")
    text.append("Operator ", style="dim")
    text.append(f"{summary.operator}@{summary.host}")
    last = getattr(summary, "last_operator", "") or ""
    if last and last != summary.operator:
        text.append(f" (last: {last})")
    text.append("\n")
    text.append("Started ", style="dim")
    text.append(f"{short_time(summary.created)}   ")
    text.append("last activity ", style="dim")
    text.append(f"{short_time(summary.updated)}")
    if summary.current_phase:
        text.append("   phase ", style="dim")
        text.append((phase_titles or {}).get(summary.current_phase, summary.current_phase))
    return text


class ResumeModal(Dialog[str]):
    """Resume (default, Enter) / Start new / Open read-only; dismisses with the choice."""

    BINDINGS = [
        Binding("r", "choose('resume')", "Resume"),
        Binding("n", "choose('new')", "Start new"),
        Binding("o", "choose('read_only')", "Open read-only"),
    ]

    def __init__(self, summary: Any, phase_titles: Mapping[str, str] | None = None) -> None:
        super().__init__(classes="modal")
        self._summary = summary
        self._phase_titles = phase_titles

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog resume-dialog"):
            yield Label("An unfinished deployment session exists", classes="dialog-title")
            yield Static(summary_text(self._summary, self._phase_titles),
                         classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume (r)", variant="primary", id=RESUME, compact=True)
                yield Button("Start new (n)", id=NEW, compact=True)
                yield Button("Read-only (o)", id=READ_ONLY, compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#{RESUME}", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or RESUME)

    def action_choose(self, choice: str) -> None:
        """Answer from the keyboard."""
        self.dismiss(choice)
