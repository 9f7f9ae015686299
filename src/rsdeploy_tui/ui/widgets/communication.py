"""The "Communication" tab: stakeholder messages filled from the session, edited, then sent.

Left: the messages (pre-deployment, the three during-deployment status updates, post-deployment,
rollback). Right: subject and body, editable. With the list focused: ``c`` copies the message to
the clipboard (OSC 52, works over SSH), ``s`` saves it to a file, ``p`` posts it to the chat
webhook in var ``notify_webhook_url`` (recorded in the session), ``r`` refills it from the
session. ``escape`` in the editor returns to the list. Posting runs in a worker: the UI never waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.reports import Message, build_messages, post_message
from rsdeploy_tui.reports.files import write_atomic
from rsdeploy_tui.reports.redaction import scrubber
from rsdeploy_tui.ui.widgets.report_pane import ReportPane

WEBHOOK_VAR = "notify_webhook_url"
UNFIT_CONFIRM = "send anyway"
"""What the operator types to copy, save or post a message that does not fit what happened."""


class CommunicationPanel(ReportPane):
    """Stakeholder messages: pick, edit, copy, save, post.

    Args:
        checklist: The checklist (its ``templates``).
        session: The open ``Session``; webhook results are recorded in it as ``fact`` events
            named ``notification.<message id>``.
        vars: Resolved vars (``sprint``, ``version``, ``contact``, ``docs_url``,
            ``expected_downtime``, ``notify_webhook_url`` ...); default: the session's.
        clock: Current time (fixed in tests).
        save_dir: Where ``s`` writes ``<message>-<session>.txt`` (default: working directory).
        git_dir: Repository for the features list (default: var ``app_dir``).
        use_git: False to never run ``git log``.
    """

    DEFAULT_CSS = """
    CommunicationPanel {
        height: 1fr;
    }
    CommunicationPanel > #comm-hint {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $surface;
    }
    CommunicationPanel > Horizontal {
        height: 1fr;
    }
    CommunicationPanel #comm-messages {
        width: 34;
        height: 1fr;
    }
    CommunicationPanel #comm-editor {
        width: 1fr;
        height: 1fr;
    }
    CommunicationPanel #comm-subject {
        height: 3;
    }
    CommunicationPanel #comm-body {
        height: 1fr;
    }
    CommunicationPanel #comm-status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    CommunicationPanel #comm-status.-error {
        color: $error;
    }
    CommunicationPanel #comm-status.-ok {
        color: $success;
    }
    """

    BINDINGS = [
        Binding("c", "copy_message", "Copy", tooltip="Copy subject and body to the clipboard"),
        Binding("s", "save_message", "Save", tooltip="Write the message to a text file"),
        Binding("p", "post_message", "Post",
                tooltip="Post to the chat webhook (var notify_webhook_url)"),
        Binding("r", "refill_message", "Refill", tooltip="Refill this message from the session"),
        Binding("escape", "focus_list", "Messages", show=False),
    ]

    def __init__(self, checklist: Checklist, session: Any, **sources: Any) -> None:
        super().__init__(checklist, session, **sources)
        self.messages: dict[str, Message] = {}
        """Messages as filled from the session, by id."""
        self.edits: dict[str, tuple[str, str]] = {}
        """(subject, body) as the operator left them, by message id."""
        self.current: str | None = None
        self._loading = False
        self._confirmed: set[str] = set()
        """Unfit messages whose typed confirmation is being acted on (one action)."""

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("c copy · s save · p post to chat · r refill · esc back to the list",
                     id="comm-hint")
        with Horizontal():
            yield OptionList(id="comm-messages")
            with Vertical(id="comm-editor"):
                yield Input(placeholder="Subject", id="comm-subject")
                yield TextArea("", id="comm-body", soft_wrap=True, show_line_numbers=False)
                yield Static("Filling messages from the session…", id="comm-status")

    def on_mount(self) -> None:
        self.fill_messages()

    # -- filling --------------------------------------------------------------------------

    def fill_messages(self, only: str | None = None) -> None:
        """Fill the messages from the session in a worker; ``only`` refills one, dropping edits."""
        self._fill(only)

    @work(group="comm-fill", exclusive=True, exit_on_error=False)
    async def _fill(self, only: str | None) -> None:
        vars_ = self.vars if self.vars is not None else None
        built = await asyncio.to_thread(build_messages, self.checklist, self.session,
                                        clock=self.clock, vars=vars_, git_dir=self.git_dir,
                                        use_git=self.use_git)
        self._remember_editor()
        self.messages = {m.id: m for m in built}
        if only is not None:
            self.edits.pop(only, None)
        options = self.query_one("#comm-messages", OptionList)
        if options.option_count != len(built):
            options.clear_options()
            # "Rollback Communication (if rollback occurs)" -> "Rollback Communication"
            options.add_options([Option(m.title.split(" (")[0]
                                        + ("" if m.ready else "  (does not fit)"), id=m.id)
                                 for m in built])
            # After a rollback the rollback message is the one to send: offer it first.
            first = next((n for n, m in enumerate(built) if m.id == "rollback"), 0) if any(
                not m.ready for m in built) else 0
            options.highlighted = first
            self.current = self.current or built[first].id
        self.current = self.current or built[0].id
        self._show(self.current)

    def _fit_status(self) -> None:
        """The status line: why the shown message does not fit, else what the keys do."""
        message = self.messages.get(self.current or "")
        if message is not None and not message.ready:
            self._status(f"Does not fit: {message.unfit} (c/s/p ask you to confirm)", "error")
        else:
            self._status("Edit a message, then c copy · s save · p post.")

    def _show(self, message_id: str) -> None:
        message = self.messages[message_id]
        subject, body = self.edits.get(message_id, (message.subject, message.body))
        self._loading = True
        self.query_one("#comm-subject", Input).value = subject
        self.query_one("#comm-body", TextArea).load_text(body)
        self._loading = False
        self.current = message_id
        self._fit_status()

    def _remember_editor(self) -> None:
        """Keep what the operator typed in the shown message before showing another."""
        if self.current is None or self.current not in self.messages:
            return
        subject = self.query_one("#comm-subject", Input).value
        body = self.query_one("#comm-body", TextArea).text
        original = self.messages[self.current]
        if (subject, body) != (original.subject, original.body):
            self.edits[self.current] = (subject, body)

    @on(OptionList.OptionHighlighted, "#comm-messages")
    def _picked(self, event: OptionList.OptionHighlighted) -> None:
        picked = event.option.id
        if picked is None or picked not in self.messages or picked == self.current:
            return
        self._remember_editor()
        self._show(picked)

    # -- what is sent ---------------------------------------------------------------------

    def message_text(self) -> str:
        """The shown message as edited (subject line, blank line, body), redacted."""
        subject = self.query_one("#comm-subject", Input).value.strip()
        body = self.query_one("#comm-body", TextArea).text
        text = f"Subject: {subject}\n\n{body}" if subject else body
        return scrubber(self.session, self.checklist).text(text)

    def _status(self, text: str, kind: str = "") -> None:
        status = self.query_one("#comm-status", Static)
        status.update(text)
        status.set_class(kind == "error", "-error")
        status.set_class(kind == "ok", "-ok")

    def _ready(self) -> bool:
        if self.current is None:
            self.notify("The messages are still being filled; try again in a moment.",
                        title="Communication", severity="warning")
            return False
        return True

    # -- actions --------------------------------------------------------------------------

    def action_focus_list(self) -> None:
        """``escape``: back to the message list, where the letter keys work."""
        self.query_one("#comm-messages", OptionList).focus()

    def action_refill_message(self) -> None:
        """``r``: refill the shown message from the session (its edits are dropped)."""
        self.fill_messages(only=self.current)

    def _fits_or_confirmed(self, verb: str, then: Callable[[], None]) -> bool:
        """True when the shown message fits; else ask for a typed confirmation, then ``then``."""
        message = self.messages.get(self.current or "")
        if message is None or message.ready:
            return True
        from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

        def answered(typed: str | None) -> None:
            if typed is not None:
                self._confirmed.add(message.id)
                then()
                self._confirmed.discard(message.id)

        if message.id in self._confirmed:
            return True
        self.app.push_screen(TypedConfirmModal(
            f"{message.title.split(' (')[0]} does not fit", message.unfit,
            UNFIT_CONFIRM, ok_label=verb), answered)
        return False

    def action_copy_message(self) -> None:
        """``c``: copy to the clipboard through the terminal (OSC 52)."""
        if not self._ready() or not self._fits_or_confirmed("Copy", self.action_copy_message):
            return
        self.app.copy_to_clipboard(self.message_text())
        self._status("Copied to the clipboard (your terminal must allow OSC 52).", "ok")
        self.notify("Message copied to the clipboard.", title="Communication")

    def save_path(self) -> Path:
        """Where ``s`` writes the shown message."""
        return self.in_save_dir(f"{self.current}-{self.session_id}.txt")

    def action_save_message(self) -> None:
        """``s``: write the shown message as text."""
        if not self._ready() or not self._fits_or_confirmed("Save", self.action_save_message):
            return
        path = self.save_path()
        try:
            write_atomic(path, self.message_text().rstrip("\n") + "\n")
        except RsdeployError as error:
            self._status(error.message, "error")
            self.notify(error.message, title=error.title, severity="error")
            return
        self._status(f"Saved to {path}", "ok")
        self.notify(f"Saved to {path}", title="Communication")

    def webhook_url(self) -> str:
        """The chat webhook (var ``notify_webhook_url``), empty when not set."""
        values = self.vars if self.vars is not None else dict(
            getattr(getattr(self.session, "meta", None), "vars", {}) or {})
        return str(values.get(WEBHOOK_VAR) or "").strip()

    def action_post_message(self) -> None:
        """``p``: post to the chat webhook in a worker; the result is recorded and shown."""
        if not self._ready() or not self._fits_or_confirmed("Post", self.action_post_message):
            return
        url = self.webhook_url()
        if not url:
            self.notify(f"No chat webhook: start with --set {WEBHOOK_VAR}=https://... "
                        "to post, or copy (c) the message instead.",
                        title="Communication", severity="warning")
            return
        self._status("Posting…")
        self._post(url, self.current or "", self.message_text())

    @work(group="comm-post", exclusive=False, exit_on_error=False)
    async def _post(self, url: str, message_id: str, text: str) -> None:
        result = await post_message(url, text)
        recorded = self._record(message_id, result.as_fact(message_id))
        if result.ok:
            self._status(f"Posted to {result.host}{recorded}", "ok")
            self.notify(f"Message posted to {result.host}.", title="Communication")
        else:
            self._status(f"Not posted: {result.detail}{recorded}", "error")
            self.notify(f"The message was NOT posted: {result.detail}. Copy it (c) and send "
                        "it by hand.", title="Webhook post failed", severity="error",
                        timeout=15)

    def _record(self, message_id: str, value: dict[str, object]) -> str:
        """Record the post's result in the session; returns a remark when it could not be."""
        record = getattr(self.session, "record", None)
        if record is None:
            return ""
        try:
            record("fact", name=f"notification.{message_id}", value=value)
        except RsdeployError as error:
            return f" (not recorded: {error.title})"
        return ""

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group not in ("comm-fill", "comm-post"):
            return
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        detail = f"{error.title}: {error.message}" if isinstance(error, RsdeployError) \
            else f"{type(error).__name__}: {error}"
        what = "filled" if event.worker.group == "comm-fill" else "posted"
        self._status(f"The message could not be {what}: {detail}", "error")
        self.notify(f"The message could not be {what} ({detail}).", title="Communication",
                    severity="error")
