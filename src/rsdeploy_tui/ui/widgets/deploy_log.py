"""The "Deployment Log" tab: the session's deployment log rendered as Markdown.

Self-contained: give it the checklist and the open session; ``r`` rebuilds the log from the
session (the app may also call ``refresh_report()`` when the tab is shown), ``s`` saves it as
Markdown. The log is built in a worker (``git log`` may take a moment) and never blocks the UI.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static
from textual.worker import Worker, WorkerState

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.reports import render_screen_and_file
from rsdeploy_tui.reports.files import write_atomic
from rsdeploy_tui.ui.widgets.report_pane import ReportPane


class DeploymentLogView(ReportPane, can_focus=False):
    """Markdown view of the deployment log with refresh and save keys.

    Args:
        checklist: The checklist the session runs.
        session: The open ``Session`` (read-only is fine).
        vars: Resolved vars (default: those recorded in the session).
        clock: Current time (fixed in tests).
        save_dir: Where ``s`` writes ``deployment-log-<session>.md`` (default: the working
            directory, where the operator finds it).
        git_dir: Repository for the changes list (default: var ``app_dir``).
        use_git: False to never run ``git log``.
    """

    DEFAULT_CSS = """
    DeploymentLogView {
        height: 1fr;
    }
    DeploymentLogView > #deploy-log-hint {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $surface;
    }
    DeploymentLogView > #deploy-log-scroll {
        height: 1fr;
        padding: 0 1;
    }
    DeploymentLogView > #deploy-log-scroll:focus {
        background-tint: $foreground 3%;
    }
    """

    BINDINGS = [
        Binding("r", "refresh_report", "Refresh log", tooltip="Rebuild the log from the session"),
        Binding("s", "save_report", "Save log", tooltip="Write the log as Markdown"),
    ]

    def __init__(self, checklist: Checklist, session: Any, **sources: Any) -> None:
        super().__init__(checklist, session, **sources)
        self.text = ""
        """The complete log as Markdown (redacted): what ``s`` saves."""
        self.shown = ""
        """What the screen shows: the log without the per-item table (kept for the file)."""

    def compose(self) -> ComposeResult:
        yield Static("r refresh · s save as Markdown (with the item-by-item appendix)",
                     id="deploy-log-hint")
        with VerticalScroll(id="deploy-log-scroll"):
            yield Markdown("_Building the deployment log…_", id="deploy-log")

    def on_mount(self) -> None:
        self.refresh_report()

    def refresh_report(self) -> None:
        """Rebuild the log from the session in a worker (the latest request wins)."""
        self._build()

    @work(group="deploy-log", exclusive=True, exit_on_error=False)
    async def _build(self) -> None:
        shown, full = await asyncio.to_thread(
            render_screen_and_file, self.checklist, self.session, clock=self.clock,
            vars=self.vars, git_dir=self.git_dir, use_git=self.use_git)
        self.text = full
        self.shown = shown
        await self.query_one("#deploy-log", Markdown).update(shown)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "deploy-log" or event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        detail = f"{error.title}: {error.message}" if isinstance(error, RsdeployError) \
            else f"{type(error).__name__}: {error}"
        self.notify(f"The deployment log could not be built ({detail}).",
                    title="Deployment log", severity="error")

    def action_refresh_report(self) -> None:
        """``r``: rebuild from the session."""
        self.refresh_report()

    def save_path(self) -> Path:
        """Where ``s`` writes the log."""
        return self.in_save_dir(f"deployment-log-{self.session_id}.md")

    def action_save_report(self) -> None:
        """``s``: write the Markdown shown to ``save_path()``."""
        if not self.text:
            self.notify("The log is still being built; try again in a moment.",
                        title="Deployment log", severity="warning")
            return
        path = self.save_path()
        try:
            write_atomic(path, self.text)
        except RsdeployError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.notify(f"Saved to {path}", title="Deployment log")
