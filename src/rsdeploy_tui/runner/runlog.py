"""A run's log on a disk that can fill up (stdlib only: the run wrapper loads it by path).

A deploy or a backup started on a nearly full disk must not die with its log. ``RunLog`` writes
the output; when a write fails (no space, file too large, quota), the output is dropped and
counted, the command goes on, and a retry every ``RETRY_S`` writes a marker with the count once
the disk has room again. While output is being dropped, ``<id>.drop`` (reserved at start, so
writing it needs no new disk blocks) tells the app why the output stops. ``reserve`` and
``write_reserved`` do the same for the exit record: it is written into space taken at start.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

RESERVE = 4096
"""Bytes reserved at start for the drop note and for the exit record."""
RETRY_S = 0.2
"""After a failed write, the next write waits this long before trying the disk again."""


def reserve(path: Path, size: int = RESERVE) -> bool:
    """Create ``path`` holding ``size`` spaces and fsync it (so its blocks are ours)."""
    try:
        with open(path, "wb") as fh:
            fh.write(b" " * size)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        return False
    return True


def write_reserved(path: Path, data: dict[str, Any]) -> None:
    """Overwrite a reserved file in place with one JSON line, padded with spaces.

    Raises:
        OSError: the write failed (the caller retries).
    """
    raw = (json.dumps(data, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        padded = raw + b" " * max(0, size - len(raw))
        view = memoryview(padded)
        offset = 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_note(path: Path) -> dict[str, Any] | None:
    """A reserved file's JSON (None when absent, blank or unreadable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        data = json.loads(text) if text else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RunLog:
    """Appends output to a run's log; on a full disk drops it with a count instead of dying."""

    def __init__(self, fd: int, drop_path: Path) -> None:
        self.fd = fd
        self.drop_path = drop_path
        self.dropped = 0
        """Bytes dropped since the last marker was written."""
        self.dropped_total = 0
        """Bytes dropped over the whole run (for the exit record)."""
        self.reason: str | None = None
        """Why the last write failed (``No space left on device``)."""
        self._retry_at = 0.0
        self._noted = 0.0

    def _write_all(self, data: bytes) -> int:
        """Write as much as the disk takes; return how many bytes were written."""
        done = 0
        while done < len(data):
            try:
                written = os.write(self.fd, data[done:])
            except InterruptedError:
                continue
            except OSError as error:
                self.reason = error.strerror or str(error)
                return done
            if written == 0:
                return done
            done += written
        return done

    def write(self, data: bytes) -> None:
        """Append ``data``; what cannot be written is counted, never raised."""
        if not data:
            return
        if self.dropped and (time.monotonic() < self._retry_at or not self._write_marker()):
            self._drop(len(data))
            return
        done = self._write_all(data)
        if done < len(data):
            self._drop(len(data) - done)

    def _drop(self, count: int) -> None:
        self.dropped += count
        self.dropped_total += count
        now = time.monotonic()
        self._retry_at = now + RETRY_S
        if now - self._noted >= 0.5:
            self._noted = now
            self._note(dropping=True)

    def _note(self, *, dropping: bool) -> None:
        # The note is a courtesy to the screen; the count goes into the exit record anyway.
        with contextlib.suppress(OSError):
            write_reserved(self.drop_path, {"dropping": dropping, "dropped": self.dropped_total,
                                            "reason": self.reason})

    def _write_marker(self) -> bool:
        marker = (f"\n[rsdeploy-tui: {self.dropped} bytes of output were dropped here: the log "
                  f"could not be written ({self.reason})]\n").encode()
        done = self._write_all(marker)
        if done < len(marker):
            self._retry_at = time.monotonic() + RETRY_S
            return False
        self.dropped = 0
        self._note(dropping=False)
        return True

    def close(self) -> None:
        """Last try at the marker, then fsync; errors are kept in ``reason``, not raised."""
        if self.dropped:
            self._write_marker()
        try:
            os.fsync(self.fd)
        except OSError as error:
            self.reason = error.strerror or str(error)
        os.close(self.fd)
