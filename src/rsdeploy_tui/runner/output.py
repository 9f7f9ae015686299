"""Run output for the screen: sanitize lines, read the tail, follow a growing log file."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

MAX_LINE = 2000
"""Longest line passed to the screen; the rest is replaced by a ``… [cut N chars]`` marker."""

# One regex finds every escape sequence; SGR (colour) sequences are told apart afterwards.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]             # CSI (cursor moves, erase, SGR ...)
    | \x9b[0-?]*[ -/]*[@-~]             # 8-bit CSI
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC (window title, hyperlinks) to BEL or ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?     # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]                   # other two-byte escapes (charset, keypad ...)
    | \x1b                              # a lone ESC at the end
    """,
    re.VERBOSE,
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m\Z")
# C0 controls except TAB and ESC (escapes are handled first, only kept SGR is left), DEL, C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]")
_REPLACEMENT = "\ufffd"


def sanitize(line: str, *, keep_colour: bool = True, limit: int = MAX_LINE) -> str:
    """Make one line of command output safe to draw in a pane.

    Keeps SGR colour sequences (unless ``keep_colour`` is false), drops every other escape
    sequence (cursor moves, screen clears, OSC titles), keeps only the text after the last
    carriage return (progress bars overwrite themselves), replaces other control characters
    with U+FFFD, and cuts lines longer than ``limit`` characters with a marker.
    """
    if line.isprintable() and len(line) <= limit:
        return line  # the common case, kept cheap for log floods
    line = line.rstrip("\r\n")
    if "\r" in line:
        line = line[line.rfind("\r") + 1 :]
    if "\x1b" in line or "\x9b" in line:

        def keep(match: re.Match[str]) -> str:
            seq = match.group(0)
            return seq if keep_colour and _SGR.match(seq) else ""

        line = _ESCAPES.sub(keep, line)
    line = _CONTROLS.sub(_REPLACEMENT, line)
    if len(line) > limit:
        cut_at = limit
        # Do not leave half an SGR sequence at the cut.
        esc = line.rfind("\x1b", max(0, limit - 32), limit)
        if esc != -1 and "m" not in line[esc:limit]:
            cut_at = esc
        reset = "\x1b[0m" if "\x1b[" in line[:cut_at] else ""
        line = f"{line[:cut_at]}{reset} … [cut {len(line) - cut_at} chars]"
    return line


def tail_lines(log_path: Path, n: int, *, keep_colour: bool = False) -> list[str]:
    """The last ``n`` lines of a log file, sanitized (plain text by default, for events)."""
    if n <= 0:
        return []
    try:
        with open(log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            block = 65536
            data = b""
            pos = size
            while pos > 0 and data.count(b"\n") <= n:
                step = min(block, pos)
                pos -= step
                fh.seek(pos)
                data = fh.read(step) + data
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()[-n:]
    return [sanitize(line, keep_colour=keep_colour) for line in lines]


StopWhen = asyncio.Event | Callable[[], bool]


def _stopped(stop: StopWhen | None) -> bool:
    if stop is None:
        return False
    if isinstance(stop, asyncio.Event):
        return stop.is_set()
    return stop()


FLOOD_BEHIND = 1 << 20
"""When the unread part of a followed log is larger than this, the follower skips to its tail
(the screen shows the tail; the log file keeps everything)."""
FRAME_S = 1 / 30
"""Pause between two reads while a log grows faster than it is read: keys and the clock first."""


async def follow_log(
    path: Path,
    *,
    stop: StopWhen | None = None,
    exit_path: Path | None = None,
    chunk: int = 65536,
    poll: float = 0.1,
    offset: int = 0,
    redact: Callable[[str], str] | None = None,
    clean: Callable[[str], str] | None = sanitize,
    partial_after: float = 3.0,
    max_behind: int | None = FLOOD_BEHIND,
) -> AsyncIterator[list[str]]:
    """Yield batches of new lines of a growing run log, like ``tail -f`` that knows when to stop.

    Reads at most one ``chunk``-byte block per turn of the event loop (a flood of output never
    holds it: keys and the clock come first), keeps a partial last line until its newline
    arrives, and polls for growth every ``poll`` seconds. When more than ``max_behind`` bytes
    are unread, it skips to the last ``chunk`` bytes and yields a line that says how much it
    skipped. Ends when ``stop`` is set (or returns True), or when the exit file (default:
    ``<log>.exit`` beside the log) exists and the log is drained; the final partial line is
    yielded then.

    Args:
        path: The run's ``.log`` file (may not exist yet).
        stop: An ``asyncio.Event`` or a callable; when true, the follower ends after draining.
        exit_path: The run's ``.exit`` file; defaults to ``path`` with suffix ``.exit``.
        chunk: Bytes per read.
        poll: Seconds between checks when the file did not grow.
        offset: Byte offset to start from (0 = the whole output so far).
        redact: Applied to the text of each batch (e.g. the session's ``Redactor.text``; it must
            keep newlines), before ``clean``.
        clean: Applied to each line last; ``sanitize`` by default, None for raw lines.
        partial_after: Seconds without growth after which a line without its newline yet (a
            prompt) is shown; the rest of that line, when it comes, shows as a new line.
        max_behind: Unread bytes beyond which the follower skips to the tail (None: never).
    """
    exit_path = exit_path or path.with_suffix(".exit")
    pending = b""
    fh = None
    quiet_since = time.monotonic()

    def finish(lines: list[bytes]) -> list[str]:
        out = [raw.decode("utf-8", "replace") for raw in lines]
        if redact is not None:
            # One call per batch: a redactor's set-up per line costs more than the masking.
            joined = redact("\n".join(out)).split("\n")
            out = joined if len(joined) == len(out) else [redact(line) for line in out]
        if clean is not None:
            out = [clean(line) for line in out]
        return out

    try:
        while True:
            if fh is None:
                try:
                    fh = open(path, "rb")  # noqa: SIM115 - closed in finally
                    fh.seek(offset)
                except FileNotFoundError:
                    fh = None
            # Look at the end markers *before* reading, so what we read after is complete.
            ending = _stopped(stop) or exit_path.exists()
            grew = False
            full = False
            if fh is not None:
                if max_behind is not None:
                    position = fh.tell()
                    size = os.fstat(fh.fileno()).st_size
                    if size - position > max_behind:
                        fh.seek(size - chunk)
                        fh.readline()  # to the start of a whole line
                        skipped = fh.tell() - position
                        pending = b""
                        yield [f"… {skipped} bytes of output not shown while it floods "
                               f"(the run log {path.name} keeps them all)"]
                data = fh.read(chunk)
                if data:
                    grew = True
                    full = len(data) == chunk
                    data = pending + data
                    cut = data.rfind(b"\n")
                    if cut == -1:
                        pending = data
                    else:
                        pending = data[cut + 1 :]
                        yield finish(data[:cut].split(b"\n"))
            if ending and not grew:
                if pending:
                    yield finish([pending])
                return
            if grew:
                quiet_since = time.monotonic()
            elif pending and time.monotonic() - quiet_since >= partial_after:
                yield finish([pending])
                pending = b""
            if not grew:
                await asyncio.sleep(poll)
            else:
                # More may be waiting: read it on the next frame, not in this one.
                await asyncio.sleep(FRAME_S if full else 0)
    finally:
        if fh is not None:
            fh.close()
