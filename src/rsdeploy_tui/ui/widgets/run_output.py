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
from textual.widget import Widget
from textual.widgets import Static

from rsdeploy_tui.records import datarecord

if TYPE_CHECKING:
    from textual.widgets import RichLog

MAX_LINES = 2000
"""Lines kept per run in memory (the run's log file keeps everything)."""
FLUSH_S = 0.05
"""Flush period (20 Hz): one repaint per period however fast the output comes."""
DRAW_MAX = 250
"""Most lines drawn in one flush: under a flood only the newest are drawn (the view shows the
tail); the whole buffer is drawn again once the output calms down."""


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
    reset: int = 0
    """``written`` when the lines were last replaced (views that drew less redraw from 0)."""


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
        self.wrap = True
        """Long lines soft-wrap; False: one line each, scrolled sideways (``w``)."""
        self.full = False
        """The shown run's output fills the screen (``o``)."""
        self.layout_version = 0
        """Bumped when ``wrap`` or ``full`` changes (views redraw everything)."""

    def toggle_wrap(self) -> None:
        """Soft wrap on/off for every view."""
        self.wrap = not self.wrap
        self.layout_version += 1

    def toggle_full(self) -> None:
        """The shown run's output full screen, or back."""
        self.full = not self.full and self.shown is not None
        self.layout_version += 1

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

    def reset_lines(self, run_id: str, lines: list[str]) -> None:
        """Replace a run's lines (an interactive run's terminal copy replaces its placeholder)."""
        view = self.runs.get(run_id)
        if view is None:
            view = self.open_run(run_id, run_id)
        view.lines.clear()
        view.lines.extend(lines)
        view.written += len(lines)
        view.reset = view.written

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
        if self.shown is None and self.full:
            self.full = False
            self.layout_version += 1
        self.title_version += 1

    def plain_lines(self) -> list[str]:
        """The shown run's lines as plain text (what a test or a copy sees)."""
        view = self.runs.get(self.shown) if self.shown else None
        return [Text.from_ansi(line).plain for line in view.lines] if view else []


class RunOutputView(Vertical, can_focus=False):
    """One phase tab's view of the shown run: a title line and the scrolling output.

    Producer -> store -> timed flush: each tick compares what it drew with the store and draws
    only what changed, in one write, at most ``DRAW_MAX`` lines, so a flood of output costs one
    bounded repaint per period.
    """

    BINDINGS = [Binding("escape", "back", "Back to list", show=False)]

    def __init__(self, store: RunOutput | None = None, *, id: str | None = "run-output") -> None:
        super().__init__(id=id)
        self.store = store
        self._drawn: str | None = None
        self._drawn_upto = 0
        self._title_version = -1
        self._layout_version = -1
        self._gap = False
        self._resized = False
        # Held, never queried: a child mounted a moment ago may not be in the DOM yet on a
        # busy machine (the NoMatches crash behind a flaky test).
        self._title: Static | None = None
        self._log_widget: RichLog | None = None

    def _log(self) -> RichLog:
        """The scrolling output, built the first time a run is shown: ``RichLog`` costs ~10 ms
        to import (rich.pretty) and most launches show no run in their first frame."""
        from textual.widgets import RichLog

        if self._log_widget is None:
            self._title = Static("", id="run-title")
            # min_width: RichLog lays lines out at least 78 wide and crops them to the pane.
            self._log_widget = RichLog(max_lines=MAX_LINES, wrap=True, markup=False,
                                       min_width=20, highlight=False, auto_scroll=True,
                                       id="run-log")
            self.mount_all([self._title, self._log_widget])
        return self._log_widget

    def on_mount(self) -> None:
        if self.store is None:
            # The runbook screen holds the store (a test may mount without it).
            self.store = getattr(self.screen, "run_output", None)
        self.flush()
        self.set_interval(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Draw what changed in the store since the last flush."""
        store = self.store
        if store is None or self._going():
            return
        shown = store.shown
        # A class, not ``display``: the screen's CSS may still hide it (logs full screen).
        self.set_class(shown is not None, "-shown")
        if shown is None and self._log_widget is None:
            return  # nothing shown yet: nothing to build
        log = self._log()
        view = store.runs.get(shown) if shown else None
        redraw = (shown != self._drawn or store.layout_version != self._layout_version
                  or self._resized)
        self._resized = False
        if store.layout_version != self._layout_version:
            self._layout_version = store.layout_version
            log.wrap = store.wrap
            self.screen.set_class(store.full, "-run-full")
            self.border_subtitle = (
                "o/esc back · w wrap" + ("" if store.wrap else " · ←/→ scroll")
                if store.full else "o full screen · w " + ("no wrap" if store.wrap else "wrap"))
        if view is not None and self._drawn_upto < view.reset:
            redraw = True
        new = 0 if view is None else view.written - self._drawn_upto
        if not redraw and self._gap and new == 0 and view is not None:
            redraw = True  # the flood is over: draw the whole buffer, so it can be scrolled
        if shown != self._drawn:
            self.screen.refresh_bindings()  # o / w are offered while a run is shown
        if redraw:
            self._drawn, self._drawn_upto, self._gap = shown, 0, False
            log.clear()
            new = 0 if view is None else min(view.written, len(view.lines))
            if view is not None:
                self._drawn_upto = view.written - new
        if store.title_version != self._title_version:
            self._title_version = store.title_version
            self._render_title()
        if view is None or view.written == self._drawn_upto:
            return
        new = min(view.written - self._drawn_upto, len(view.lines))
        self._drawn_upto = view.written
        if new > DRAW_MAX and not redraw:
            # A flood: only the tail is worth drawing now (older lines come back when it calms).
            log.clear()
            self._gap = True
            new = DRAW_MAX
        lines = list(view.lines)[-new:] if new else []
        if not lines:
            return
        # One write per flush: a Text of many lines is laid out once.
        following = redraw or log.scroll_offset.y >= log.max_scroll_y
        joined = "\n".join(lines)
        log.write(Text.from_ansi(joined) if "\x1b" in joined else Text(joined))
        if following:
            # A write before the log knows its size is laid out later: follow the tail then.
            self.call_after_refresh(log.scroll_end, animate=False)

    def _going(self) -> bool:
        """Is this view (or the screen it is on) being removed? A timer may still fire then;
        nothing may be built or asked of the screen (its panes are going too)."""
        if not self.is_attached:
            return True
        return any(node._closing or node._pruning for node in self.ancestors_with_self
                   if isinstance(node, Widget))

    def _render_title(self) -> None:
        title = self._title
        if title is None:
            return
        store = self.store
        view = store.runs.get(store.shown) if store is not None and store.shown else None
        for state in ("running", "ok", "failed", "cancelled", "unknown"):
            title.set_class(view is not None and view.state == state, f"-{state}")
        if view is None:
            title.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(f" {view.status} ", style="bold reverse")
        text.append(f" {view.title}")
        title.update(text)

    def on_resize(self) -> None:
        # RichLog keeps lines laid out at the width they were written at: lay them out again.
        self._resized = True

    def focus_log(self) -> None:
        """Give the output the keys (scrolling), building it if needed."""
        self._log().focus()

    def action_back(self) -> None:
        """Escape: back to the item list (and out of full screen)."""
        if self.store is not None and self.store.full:
            self.store.toggle_full()
            self.flush()
        listed = getattr(self.screen, "current_list", None)
        if listed is not None:
            listed.focus()
        else:
            self.screen.focus_next()
