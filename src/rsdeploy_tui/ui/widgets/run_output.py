"""The output view: live output of the highlighted item's command, under the runbook.

Producer -> buffer -> timed flush: run followers call ``feed`` (cheap: append to a bounded
buffer); a ~20 Hz timer writes what is new for the shown run into a ``RichLog`` (colours kept
with ``Text.from_ansi``; the runner already stripped every other control sequence).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import RichLog, Static

MAX_LINES = 2000
"""Lines kept per run in memory (the run's log file keeps everything)."""
FLUSH_S = 0.05
"""Flush period (20 Hz): one repaint per period however fast the output comes."""


@dataclass
class RunView:
    """What the view knows about one run."""

    run_id: str
    title: str
    """One line: item, command."""
    status: str = "running"
    """``running``, ``exit 0 in 2.1 s``, ``cancelled`` ... (shown beside the title)."""
    state: str = "running"
    """``running`` | ``ok`` | ``failed`` | ``cancelled`` | ``unknown``: the title's colour."""
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_LINES))
    """Sanitized lines (SGR colour sequences kept)."""
    written: int = 0
    """How many lines were fed in total (to know what the log has not shown yet)."""


class RunOutput(Vertical, can_focus=False):
    """Output of one run at a time: a title line and the scrolling output."""

    BINDINGS = [Binding("escape", "back", "Back to list", show=False)]

    def __init__(self, *, id: str | None = "run-output") -> None:
        super().__init__(id=id)
        self.runs: dict[str, RunView] = {}
        self.shown: str | None = None
        self._shown_upto = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="run-title")
        yield RichLog(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False,
                      auto_scroll=True, id="run-log")

    def on_mount(self) -> None:
        self.set_interval(FLUSH_S, self.flush)

    # ------------------------------------------------------------ producers
    def open_run(self, run_id: str, title: str, *, status: str = "running",
                 state: str = "running") -> RunView:
        """Start (or reset) the view of a run."""
        view = self.runs.get(run_id)
        if view is None:
            view = self.runs[run_id] = RunView(run_id, title, status, state)
        else:
            view.title, view.status, view.state = title, status, state
        if self.shown == run_id:
            self._render_title()
        return view

    def feed(self, run_id: str, lines: list[str]) -> None:
        """Add output lines of a run (shown at the next flush if it is the shown run)."""
        view = self.runs.get(run_id)
        if view is None:
            view = self.open_run(run_id, run_id)
        view.lines.extend(lines)
        view.written += len(lines)

    def set_status(self, run_id: str, status: str, state: str) -> None:
        """Change a run's status line (``exit 4 in 3.0 s``) and colour."""
        view = self.runs.get(run_id)
        if view is None:
            return
        view.status, view.state = status, state
        if self.shown == run_id:
            self._render_title()

    # ------------------------------------------------------------ what is shown
    def show(self, run_id: str | None) -> None:
        """Show one run's output (None hides the view)."""
        # A class, not ``display``: the screen's CSS may still hide it (logs full screen).
        self.set_class(run_id is not None and run_id in self.runs, "-shown")
        if run_id == self.shown:
            return
        self.shown = run_id
        log = self.query_one("#run-log", RichLog)
        log.clear()
        self._shown_upto = 0
        if run_id is not None and run_id in self.runs:
            view = self.runs[run_id]
            self._write(list(view.lines))
            self._shown_upto = view.written
        self._render_title()

    def flush(self) -> None:
        """Write what the shown run produced since the last flush."""
        view = self.runs.get(self.shown) if self.shown else None
        if view is None or view.written == self._shown_upto:
            return
        new = view.written - self._shown_upto
        self._shown_upto = view.written
        self._write(list(view.lines)[-min(new, len(view.lines)):])

    def _write(self, lines: list[str]) -> None:
        log = self.query_one("#run-log", RichLog)
        for line in lines[-MAX_LINES:]:
            log.write(Text.from_ansi(line) if "\x1b" in line else Text(line))

    def _render_title(self) -> None:
        title = self.query_one("#run-title", Static)
        view = self.runs.get(self.shown) if self.shown else None
        for state in ("running", "ok", "failed", "cancelled", "unknown"):
            title.set_class(view is not None and view.state == state, f"-{state}")
        if view is None:
            title.update("")
            return
        text = Text()
        text.append(f" {view.status} ", style="bold reverse")
        text.append(f" {view.title}")
        title.update(text)

    def plain_lines(self) -> list[str]:
        """The shown run's lines as plain text (what a test or a copy sees)."""
        view = self.runs.get(self.shown) if self.shown else None
        return [Text.from_ansi(line).plain for line in view.lines] if view else []

    def action_back(self) -> None:
        """Escape: back to the item list."""
        self.screen.focus_next()
