"""The log pane: ``eb logs --stream`` (or CloudWatch Logs) of ``${eb_env}``, never blocking input.

An async worker (group ``logs``, exclusive) reads the runner's supervised source and only appends
to buffers; a ~20 Hz timer writes new lines into a ``Log`` with one ``write_lines`` call, and
appends the full stream to ``<session>/logs/<group>`` (the pane keeps the last 10,000 lines).
Follow mode is the Log's own: it scrolls only when already at the bottom; otherwise a
"+N new lines" hint counts what arrived below.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Log, Static
from textual.worker import Worker, WorkerState

from rsdeploy_tui.errors import RsdeployError

BUFFER_LINES = 10_000
"""Lines kept in memory (and in the Log); the session's log file keeps the whole stream."""
FLUSH_S = 0.05
"""Flush period (20 Hz)."""
FOLLOW_LINES = 1_000
"""Most lines drawn by one flush while following the end: in a flood only the newest can be seen,
and the skipped ones come back from ``buffer`` when the operator scrolls up or pauses."""
FLOOD_DRAW_S = 0.1
"""While a flood is followed (more new lines than ``FOLLOW_LINES`` per flush), the pane is
redrawn at most this often: nobody reads 10,000 lines a second, and each redraw of a full
pane costs more than taking in the lines."""
GROUPS = ("eb-engine.log", "web.stdout.log")
"""Log groups the pane cycles through with ``g`` (eb-engine.log is the EB CLI's default)."""

SourceMaker = Callable[[Mapping[str, str], str], Any]
"""``(vars, group) -> factory of an async generator of LogLine batches`` (``runner.log_source``)."""


class LevelHighlighter(Highlighter):
    """Colours ERROR / WARN lines and the instance tag, with the pane's component styles."""

    _ERROR = re.compile(r"\b(?:ERROR|CRITICAL|FATAL|Traceback)\b.*")
    _WARN = re.compile(r"\bWARN(?:ING)?\b.*")
    _INSTANCE = re.compile(r"^\[[^\]]*\]")

    def __init__(self, log: PaneLog) -> None:
        self._log = log

    def highlight(self, text: Text) -> None:
        """Stylize one line in place."""
        plain = text.plain
        style = self._log.get_component_rich_style
        found = self._INSTANCE.match(plain)
        if found:
            text.stylize(style("pane-log--instance"), 0, found.end())
        levels = ((self._ERROR, "pane-log--error"), (self._WARN, "pane-log--warn"))
        for pattern, component in levels:
            found = pattern.search(plain)
            if found:
                text.stylize(style(component), found.start(), found.end())
                break


class PaneLog(Log):
    """The pane's ``Log``: ERROR/WARN highlighted with component classes (styles/live.tcss)."""

    COMPONENT_CLASSES = {"pane-log--error", "pane-log--warn", "pane-log--instance"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(highlight=True, max_lines=BUFFER_LINES, auto_scroll=True, **kwargs)
        self.highlighter = LevelHighlighter(self)

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        """Widest new line, measured at once: ``Log`` starts a thread per write to measure every
        line's cell width, which under a flood fights the event loop for the GIL. Lines here are
        sanitized; only non-ASCII or tabbed ones can be wider than ``len``."""
        if not lines:
            return
        width = len(max(lines, key=len))
        odd = [line for line in lines if "\t" in line or not line.isascii()]
        if odd:
            width = max(width, *(cell_len(line.expandtabs()) for line in odd))
        self._update_maximum_width(updates, width)


_SGR = re.compile(r"\x1b\[[0-9;:]*m")
# Everything ``session.redact`` masks contains one of these (its key words, a URL, an AWS key
# id prefix, a private key block) or a secret value: a few scans at C speed screen a batch before
# the full, regex-heavy pass. Each pattern starts with a literal, which ``re`` searches faster
# than ``in`` does; the lower-case ones are matched against the lower-cased text.
_LOWER_MARKS = tuple(re.compile(pattern) for pattern in (
    r"p(?:assw|wd|rivate)", r"secret", r"token", r"api[_-]?key", r"://"))
_UPPER_MARKS = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)")


class BatchRedaction:
    """The session's redaction for a flood: the full (slow) pass only on lines that may need it.

    ``Redactor.text`` costs ~30 µs a line (several regexes); a log flood is mostly lines with no
    secret shape and no secret value, which one screening regex over the batch proves.
    """

    def __init__(self, redactor: Any, environ: Mapping[str, str] | None = None) -> None:
        import os

        self._redactor = redactor
        self._env = os.environ if environ is None else environ
        self._seen: tuple[str | None, ...] | None = None
        self._values: tuple[str, ...] = ()

    def _secret_values(self) -> tuple[str, ...]:
        from rsdeploy_tui.session.redact import MIN_VALUE_LENGTH

        current = tuple(self._env.get(name) for name in self._redactor.secret_names)
        if current != self._seen:
            self._values = tuple(v for v in current if v and len(v) >= MIN_VALUE_LENGTH)
            self._seen = current
        return self._values

    def __call__(self, lines: list[str], joined: str | None = None) -> list[str]:
        """``lines`` with secrets masked (the same list when nothing can be secret);
        ``joined``: the lines joined by newlines, when the caller has them already."""
        screen = getattr(self._redactor, "may_hold_secret", None)
        if screen is not None:  # the redactor's own screen knows every form it masks
            if not lines or not screen("\n".join(lines) if joined is None else joined):
                return lines
            text = self._redactor.text
            return [text(line) if screen(line) else line for line in lines]
        values = self._secret_values()

        def suspect(text: str) -> bool:
            if _UPPER_MARKS.search(text) or any(value in text for value in values):
                return True
            lower = text.lower()
            return any(mark.search(lower) for mark in _LOWER_MARKS)

        if not lines or not suspect("\n".join(lines) if joined is None else joined):
            return lines
        text = self._redactor.text
        return [text(line) if suspect(line) else line for line in lines]


def pane_lines(batch: list[Any]) -> tuple[str, list[str]]:
    """(all lines joined by newlines, the lines) of a batch: ``[i-0abc...] text`` each.

    A batch of one instance (eb prints each instance's lines together) is built with two C-level
    string calls instead of a Python call per line; texts hold no newline (the parser splits).
    """
    instances = set(map(itemgetter(0), batch))
    if len(instances) == 1:
        (instance,) = instances
        texts = list(map(itemgetter(2), batch))
        if instance:
            prefix = f"[{instance}] "
            joined = prefix + ("\n" + prefix).join(texts)
            return joined, joined.split("\n")
        return "\n".join(texts), texts
    lines = [f"[{instance}] {text}" if instance else text for instance, _group, text in batch]
    return "\n".join(lines), lines


def line_text(instance: str | None, text: str) -> str:
    """One pane line: ``[i-0abc...] text`` (colour codes dropped: ``Log`` draws plain text and
    the pane colours ERROR/WARN itself)."""
    if "\x1b" in text:
        text = _SGR.sub("", text)
    return f"[{instance}] {text}" if instance else text


class LogPane(Vertical):
    """Status line, optional filter box, and the streaming log."""

    BINDINGS = [
        Binding("p", "pause", "Pause/follow"),
        Binding("f", "filter", "Filter"),
        Binding("g", "next_group", "Log group"),
        Binding("w", "save", "Save"),
        Binding("y", "copy", "Copy"),
        Binding("end", "follow", "Follow", show=False),
        Binding("escape", "leave", "Back", show=False),
    ]

    def __init__(
        self,
        vars: Mapping[str, str],
        *,
        source: SourceMaker | None = None,
        archive_dir: Path | None = None,
        redactor: Any = None,
        group: str = GROUPS[0],
        id: str | None = "log-pane",
    ) -> None:
        super().__init__(id=id)
        self.vars = dict(vars)
        self._source = source
        self.archive_dir = archive_dir
        self._redact = BatchRedaction(redactor) if redactor is not None else None
        self.group = group
        self.buffer: deque[str] = deque(maxlen=BUFFER_LINES)
        self._pending: deque[str] = deque(maxlen=BUFFER_LINES)
        self._gap = False  # the Log lacks lines of the buffer (skipped while following)
        self._to_archive: list[str] = []
        self._drawn_at = 0.0  # monotonic time of the last write into the Log
        self.paused = False
        self.unseen = 0
        self.received = 0
        self._waiting_shown = 0
        self.state = "starting"
        self.status_text = "Starting the log source..."
        self._filter: re.Pattern[str] | None = None
        self._filter_label = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="log-status")
        yield Input(placeholder="filter: text, or /regex/ (enter keeps, escape clears)",
                    id="log-filter")
        yield PaneLog(id="log-lines")

    def on_mount(self) -> None:
        self.query_one("#log-filter", Input).display = False
        self.set_interval(FLUSH_S, self.flush)
        self.start()

    # ------------------------------------------------------------ source
    def start(self) -> None:
        """(Re)start streaming the current group (cancels the previous stream)."""
        self.state = "starting"
        self.status_text = f"Starting {self._kind()} for {self.vars.get('eb_env', '?')}..."
        self._render_status()
        self._stream()

    def _kind(self) -> str:
        kind = (self.vars.get("log_source") or "eb").strip().lower()
        return "eb logs --stream" if kind == "eb" else "CloudWatch Logs"

    @work(group="logs", exclusive=True, exit_on_error=False)
    async def _stream(self) -> None:
        from rsdeploy_tui.runner import SourceStatus, log_source, supervise

        make_source = self._source or log_source
        try:
            factory = make_source(self.vars, self.group)
        except RsdeployError as error:
            self._show_status("stopped", f"{error.title}: {error.message}", None)
            return
        stream = cast(AsyncGenerator[Any, None], supervise(factory))
        async with contextlib.aclosing(stream) as items:
            async for item in items:
                if isinstance(item, SourceStatus):
                    self._source_status(item)
                else:
                    self.ingest(item)
                    # Let keys and the flush timer in between chunks of a flood.
                    await asyncio.sleep(0)

    def _source_status(self, status: Any) -> None:
        # The last lines before a source dies usually say why: draw them before the new status
        # (not up to a flush tick later).
        self.flush()
        text = f"{status.title}: {status.message}"
        if status.state == "retrying":
            text += f" Restarting in {status.retry_in:g} s."
        elif status.state == "streaming":
            text = f"Streaming {self.group} of {self.vars.get('eb_env', '?')} ({self._kind()})"
        self._show_status(status.state, text, status.fix)

    def _show_status(self, state: str, text: str, fix: str | None) -> None:
        self.state = state
        self.status_text = text + (f"  Fix: {fix}" if fix else "")
        self._render_status()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        # A bug in a source must not kill the app: it becomes the pane's status.
        if event.worker.group == "logs" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self._show_status("stopped", f"The log stream stopped: {type(error).__name__}: "
                              f"{error}", None)

    # ------------------------------------------------------------ buffers
    def ingest(self, batch: list[Any]) -> None:
        """Take a batch of ``LogLine`` (producer side: only appends, never draws)."""
        joined, lines = pane_lines(batch)
        if "\x1b" in joined:  # colour codes are rare: drop them then
            lines = [line_text(line.instance, line.text) for line in batch]
            joined = "\n".join(lines)
        if self._redact is not None:
            lines = self._redact(lines, joined)
        self.received += len(lines)
        self.buffer.extend(lines)
        if self._filter is not None:
            lines = [line for line in lines if self._filter.search(line)]
        self._pending.extend(lines)
        if self.archive_dir is not None:
            self._to_archive.extend(lines)

    def flush(self) -> None:
        """Timer: archive the new lines, then draw them with one ``write_lines``."""
        if self._to_archive:
            self._archive()
        log = self.query_one(PaneLog)
        if self._pending and not self.paused:
            at_end = log.is_vertical_scroll_end or log.max_scroll_y == 0
            now = time.monotonic()
            if at_end and len(self._pending) > FOLLOW_LINES and now - self._drawn_at < FLOOD_DRAW_S:
                return  # a flood: the next tick draws the newest lines
            self._drawn_at = now
            if self._gap and not at_end:
                self._fill_gap(log)
            lines = list(self._pending)
            self._pending.clear()
            if at_end and len(lines) > FOLLOW_LINES:
                self._gap = True
                lines = lines[-FOLLOW_LINES:]
            log.write_lines(lines)
            if not at_end:
                self.unseen += len(lines)
                self._render_status()
        elif self.paused and len(self._pending) != self._waiting_shown:
            self._render_status()
        elif self.unseen and log.is_vertical_scroll_end:
            self.unseen = 0
            self._render_status()

    def _fill_gap(self, log: PaneLog) -> None:
        """Give the Log the buffer's lines skipped while following, keeping what is on screen
        (the same distance from the end, or the top)."""
        self._gap = False
        from_end = None if log.scroll_y == 0 else log.max_scroll_y - log.scroll_y
        drawn = self.visible_lines()
        if self._pending:
            drawn = drawn[: max(0, len(drawn) - len(self._pending))]
        log.clear()
        log.write_lines(drawn, scroll_end=False)
        y = 0 if from_end is None else max(0, len(log.lines) - log.scrollable_content_region.height
                                            - from_end)
        log.scroll_to(y=y, animate=False, immediate=True)

    def _archive(self) -> None:
        # The pane's lines: already decoded, sanitized, colour-free and redacted.
        lines, self._to_archive = self._to_archive, []
        assert self.archive_dir is not None
        try:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
            with open(self.archive_file(), "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        except OSError as error:
            self.archive_dir = None  # say it once, keep streaming to the screen
            self.notify(f"The log stream is no longer saved to disk: {error}",
                        title="Log pane", severity="warning")

    def archive_file(self) -> Path:
        """Where the full stream of the current group is appended."""
        assert self.archive_dir is not None
        return self.archive_dir / self.group.replace("/", "_")

    # ------------------------------------------------------------ status line
    def _render_status(self) -> None:
        parts = [self.status_text]
        if self._filter_label:
            parts.append(f"filter {self._filter_label}")
        self._waiting_shown = len(self._pending)
        if self.paused:
            parts.append(f"PAUSED ({self._waiting_shown} waiting; p resumes)")
        elif self.unseen:
            parts.append(f"+{self.unseen} new lines (end follows)")
        status = self.query_one("#log-status", Static)
        status.update(Text("  |  ".join(parts)))
        for state in ("starting", "streaming", "retrying", "stopped"):
            status.set_class(self.state == state, f"-{state}")

    # ------------------------------------------------------------ keys
    def action_pause(self) -> None:
        """Stop drawing new lines (they keep arriving and are kept); again to follow."""
        self.paused = not self.paused
        if self.paused and self._gap:
            self._fill_gap(self.query_one(PaneLog))
        self._render_status()

    def action_follow(self) -> None:
        """Jump to the newest line and follow."""
        self.paused = False
        self.unseen = 0
        self.query_one(PaneLog).scroll_end(animate=False)
        self._render_status()

    def action_filter(self) -> None:
        """Show the filter box."""
        box = self.query_one("#log-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#log-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(event.value)
        self.query_one(PaneLog).focus()

    def set_filter(self, text: str) -> None:
        """Show only lines matching ``text`` (case-insensitive substring, or ``/regex/``)."""
        text = text.strip()
        if not text:
            self._filter, self._filter_label = None, ""
        else:
            is_regex = len(text) > 2 and text[0] == text[-1] == "/"
            pattern = text[1:-1] if is_regex else re.escape(text)
            try:
                self._filter = re.compile(pattern, re.IGNORECASE)
            except re.error as error:
                self.notify(f"Not a valid regular expression: {error}", severity="error")
                return
            self._filter_label = text
        log = self.query_one(PaneLog)
        log.clear()
        self._pending.clear()
        self._gap = False
        shown = list(self.buffer)
        if self._filter is not None:
            shown = [line for line in shown if self._filter.search(line)]
        log.write_lines(shown)
        log.scroll_end(animate=False)
        self.unseen = 0
        self._render_status()

    def action_next_group(self) -> None:
        """Switch between eb-engine.log and web.stdout.log (restarts the stream)."""
        index = GROUPS.index(self.group) if self.group in GROUPS else -1
        self.group = GROUPS[(index + 1) % len(GROUPS)]
        self.buffer.clear()
        self._pending.clear()
        self._gap = False
        self.query_one(PaneLog).clear()
        self.start()

    def action_save(self) -> None:
        """Write the lines in memory (filtered as shown) to a file in the session directory."""
        folder = self.archive_dir or Path.cwd()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"saved-{self.group.replace('/', '_')}-{stamp}.log"
        lines = self.visible_lines()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(Text.from_ansi(line).plain + "\n" for line in lines),
                            encoding="utf-8")
        except OSError as error:
            self.notify(f"Could not save: {error}", title="Log pane", severity="error")
            return
        full = f" The whole stream is in {self.archive_file()}." if self.archive_dir else ""
        self.notify(f"Saved {len(lines)} lines to {path}.{full}", title="Log pane")

    def action_copy(self) -> None:
        """Copy the last 1,000 shown lines to the clipboard (OSC 52)."""
        lines = self.visible_lines()[-1000:]
        self.app.copy_to_clipboard("\n".join(Text.from_ansi(line).plain for line in lines))
        self.notify(f"Copied {len(lines)} lines.", title="Log pane")

    def action_leave(self) -> None:
        """Escape: close the filter box, or give the focus back to the runbook."""
        box = self.query_one("#log-filter", Input)
        if box.has_focus:
            box.value = ""
            box.display = False
            self.set_filter("")
            self.query_one(PaneLog).focus()
            return
        if box.display is False:
            self.screen.focus_next()

    def visible_lines(self) -> list[str]:
        """The lines in memory that pass the filter."""
        if self._filter is None:
            return list(self.buffer)
        return [line for line in self.buffer if self._filter.search(line)]
