"""The output view: live output of the highlighted item's command, under the detail panel.

Producer -> buffer -> timed flush: run followers call ``RunOutput.feed`` (cheap: append to a
bounded buffer); each phase tab's ``RunOutputView`` writes what is new for the shown run into a
``RichLog`` on a ~20 Hz timer (colours kept with ``Text.from_ansi``; the runner already stripped
every other control sequence).
"""

from __future__ import annotations

from collections import deque
from dataclasses import field
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from rsdeploy_tui.records import datarecord

if TYPE_CHECKING:
    from textual.widgets import RichLog

MAX_LINES = 2000
"""Lines kept per run in memory (the run's log file keeps everything)."""
FLUSH_S = 0.05
"""Flush period (20 Hz): one repaint per period however fast the output comes."""


@datarecord
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


class RunOutput:
    """Every run's output and which run is shown; the views in the phase tabs draw it.

    Not a widget: each phase tab has its own ``RunOutputView`` under its detail panel (Textual
    cannot move one widget between tabs), and they all show this one store.
    """

    def __init__(self) -> None:
        self.runs: dict[str, RunView] = {}
        self.shown: str | None = None
        self.title_version = 0
        """Bumped when the shown run's title or status changes (views redraw the title)."""

    # ------------------------------------------------------------ producers
    def open_run(self, run_id: str, title: str, *, status: str = "running",
                 state: str = "running") -> RunView:
        """Start (or reset) the view of a run."""
        view = self.runs.get(run_id)
        if view is None:
            view = self.runs[run_id] = RunView(run_id, title, status, state)
        else:
            view.title, view.status, view.state = title, status, state
        self.title_version += 1
        return view

    def feed(self, run_id: str, lines: list[str]) -> None:
        """Add output lines of a run (drawn at the views' next flush if it is the shown run)."""
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
        self.title_version += 1

    def show(self, run_id: str | None) -> None:
        """Show one run's output (None, or an unknown run, hides the views)."""
        self.shown = run_id if run_id is not None and run_id in self.runs else None
        self.title_version += 1

    def plain_lines(self) -> list[str]:
        """The shown run's lines as plain text (what a test or a copy sees)."""
        view = self.runs.get(self.shown) if self.shown else None
        return [Text.from_ansi(line).plain for line in view.lines] if view else []


class RunOutputView(Vertical, can_focus=False):
    """One phase tab's view of the shown run: a title line and the scrolling output.

    Producer -> store -> timed flush: each tick compares what it drew with the store and draws
    only what changed, so a flood of output costs one repaint per period.
    """

    BINDINGS = [Binding("escape", "back", "Back to list", show=False)]

    def __init__(self, store: RunOutput | None = None, *, id: str | None = "run-output") -> None:
        super().__init__(id=id)
        self.store = store
        self._drawn: str | None = None
        self._drawn_upto = 0
        self._title_version = -1

    def _log(self) -> RichLog:
        """The scrolling output, built the first time a run is shown: ``RichLog`` costs ~10 ms
        to import (rich.pretty) and most launches show no run in their first frame."""
        from textual.widgets import RichLog

        if not self.children:
            self.mount_all([
                Static("", id="run-title"),
                RichLog(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False,
                        auto_scroll=True, id="run-log"),
            ])
        return self.query_one("#run-log", RichLog)

    def on_mount(self) -> None:
        if self.store is None:
            # The runbook screen holds the store (a test may mount without it).
            self.store = getattr(self.screen, "run_output", None)
        self.flush()
        self.set_interval(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Draw what changed in the store since the last flush."""
        store = self.store
        if store is None:
            return
        shown = store.shown
        # A class, not ``display``: the screen's CSS may still hide it (logs full screen).
        self.set_class(shown is not None, "-shown")
        if shown is None and not self.children:
            return  # nothing shown yet: nothing to build
        log = self._log()
        if shown != self._drawn:
            self._drawn, self._drawn_upto = shown, 0
            log.clear()
        if store.title_version != self._title_version:
            self._title_version = store.title_version
            self._render_title()
        view = store.runs.get(shown) if shown else None
        if view is None or view.written == self._drawn_upto:
            return
        new = view.written - self._drawn_upto
        self._drawn_upto = view.written
        for line in list(view.lines)[-min(new, len(view.lines)):]:
            log.write(Text.from_ansi(line) if "\x1b" in line else Text(line))

    def _render_title(self) -> None:
        title = self.query_one("#run-title", Static)
        store = self.store
        view = store.runs.get(store.shown) if store is not None and store.shown else None
        for state in ("running", "ok", "failed", "cancelled", "unknown"):
            title.set_class(view is not None and view.state == state, f"-{state}")
        if view is None:
            title.update("")
            return
        text = Text()
        text.append(f" {view.status} ", style="bold reverse")
        text.append(f" {view.title}")
        title.update(text)

    def action_back(self) -> None:
        """Escape: back to the item list."""
        self.screen.focus_next()
