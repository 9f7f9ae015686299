"""The launch question when an unfinished session of the same checklist exists."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.ui.screens.dialog import Dialog
from rsdeploy_tui.ui.view import short_time

RESUME, NEW, READ_ONLY = "resume", "new", "read_only"
NEW_WORD = "new"
"""What the operator types to start a new session while an unfinished one exists."""


def _minutes(since: str | None, now: datetime) -> str:
    """``4 min`` since an ISO time (``?`` when it cannot be read)."""
    try:
        seconds = (now - datetime.fromisoformat(str(since))).total_seconds()
    except (TypeError, ValueError):
        return "?"
    if seconds < 90:
        return f"{max(int(seconds), 0)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


def details_text(session: Any, checklist: Any, now: datetime) -> Text:
    """What matters before resuming: who holds the lock (alive? where?), which commands are
    still running (for how long, checked against their run files), whether a rollback is on.

    Blocking (reads the journal, the lock and run files): call it in a thread.
    """
    from rsdeploy_tui.runner import run_status
    from rsdeploy_tui.session.lock import LOCK_NAME, pid_alive, read_holder
    from rsdeploy_tui.ui.landing import rollback_complete
    from rsdeploy_tui.ui.remote_runs import elsewhere

    text = Text()
    holder = read_holder(session.dir / LOCK_NAME)
    text.append("Lock ", style="dim")
    if holder is None:
        text.append("free: no rsdeploy-tui has it open\n")
    elif holder.host != socket.gethostname():
        text.append(f"held by {holder.describe()}, on another host: cannot tell from here "
                    "whether it is alive\n", style="bold yellow")
    elif pid_alive(holder.pid):
        text.append(f"held by {holder.describe()}: that process is ALIVE (another "
                    "rsdeploy-tui?)\n", style="bold red")
    else:
        text.append(f"left by {holder.describe()}: that process is gone (resuming takes "
                    "the lock over)\n")
    state = session.state(checklist)
    running = [(qid, s) for qid, s in state.items.items() if s.state == "running"]
    for qid, item_state in running:
        run = next((r for r in reversed(item_state.runs) if r.finished is None), None)
        if run is None:
            continue
        text.append("Running ", style="dim")
        text.append(f"{qid}  ", style="bold")
        text.append(f"{run.command.strip().splitlines()[0] if run.command.strip() else '?'}")
        status = None
        if elsewhere(session, run):
            # another machine's run: the store, not this machine's files, says how it goes
            text.append(f"  on {run.host or 'another machine'} (its output is in the shared "
                        "store)\n", style="bold yellow")
            continue
        if run.log:  # detached: its run files say whether it still runs
            try:
                status = run_status(session.dir / "runs", run.run)
            except OSError:
                status = None
        if status is not None and not status.running:
            ended = "exit code unknown" if status.exit_code is None else f"exit {status.exit_code}"
            text.append(f"  ended while away ({ended})\n", style="yellow")
        else:
            text.append(f"  for {_minutes(run.started, now)}\n", style="bold yellow")
    if state.rollback is not None:
        text.append("Rollback ", style="dim")
        if rollback_complete(checklist, state):
            text.append("complete", style="bold")
        else:
            text.append("IN PROGRESS", style="bold red")
        text.append(f" (started {short_time(state.rollback.at)}): {state.rollback.reason}\n")
    text.rstrip()
    return text


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

    def __init__(self, summary: Any, phase_titles: Mapping[str, str] | None = None, *,
                 details: Callable[[], Text] | None = None) -> None:
        super().__init__(classes="modal")
        self._summary = summary
        self._phase_titles = phase_titles
        self._details = details

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog resume-dialog"):
            yield Label("An unfinished deployment session exists", classes="dialog-title")
            yield Static(summary_text(self._summary, self._phase_titles),
                         classes="dialog-body")
            if self._details is not None:
                yield Static(Text("Looking at the lock and the runs...", style="dim"),
                             id="resume-details", classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume (r)", variant="primary", id=RESUME, compact=True)
                yield Button("Start new (n)", id=NEW, compact=True)
                yield Button("Read-only (o)", id=READ_ONLY, compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#{RESUME}", Button).focus()
        if self._details is not None:
            self._load_details()

    @work(thread=True, group="resume-details", exclusive=True, exit_on_error=False)
    def _load_details(self) -> None:
        """Read lock, runs and rollback off the event loop, then show them."""
        assert self._details is not None
        try:
            text = self._details()
        except (OSError, RsdeployError) as error:
            text = Text(f"Could not read the session's lock and runs: {error}", style="yellow")
        self.app.call_from_thread(self._show_details, text)

    def _show_details(self, text: Text) -> None:
        for found in self.query("#resume-details").results(Static):
            found.update(text)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or RESUME)

    def action_choose(self, choice: str) -> None:
        """Answer from the keyboard; "new" asks first to type ``new`` (an unfinished session
        exists: a second one splits the deployment's record in two)."""
        if choice != NEW:
            self.dismiss(choice)
            return
        from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

        summary = self._summary
        body = Text()
        body.append(f"Session {summary.id} is unfinished ({summary.done}/{summary.total} done")
        if summary.critical_pending:
            body.append(f", {summary.critical_pending} critical pending")
        body.append("). A new session starts from nothing; the unfinished one stays as it is "
                    "(resume it later with `rsdeploy-tui resume "
                    f"{summary.id}`, or close it with `rsdeploy-tui finish` or `abandon`).")
        self.app.push_screen(
            TypedConfirmModal("Start a new session?", body, NEW_WORD, ok_label="Start new"),
            lambda typed: self.dismiss(NEW) if typed == NEW_WORD else None,
        )
