"""``session.json``: a small summary for fast listing, rewritten after every event.

A ``SnapshotWriter`` thread rewrites it (the newest summary wins), so the screen never waits on a
file rename: on ext4 a rename over a file flushes the new file's data, which waits behind every
other fsync on the disk.

The journal is the truth; the snapshot is rebuilt from it whenever it is missing, unreadable,
from another schema, behind the journal (a crash between the append and the snapshot), or its
own checksum does not match (edited by hand: a ``session.json`` claiming "finished" never
overrules the journal).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import SCHEMA_VERSION
from rsdeploy_tui.session.journal import NewerSession, read_regular

SNAPSHOT_NAME = "session.json"


@datarecord(frozen=True)
class SessionSummary:
    """One line of ``rsdeploy-tui sessions``: what a session is and how far it got."""

    id: str
    """Session id (``20261126T023000Z-a1b2``)."""
    checklist: str
    """Checklist name."""
    operator: str
    """Who started it."""
    host: str
    """Where it was started."""
    created: str
    """When it was started (UTC ISO-8601)."""
    updated: str
    """Last activity."""
    status: str
    """active | finished | abandoned | damaged."""
    done: int = 0
    """Items done or skipped."""
    total: int = 0
    """Items in the checklist (as recorded)."""
    critical_pending: int = 0
    """Critical items not yet done or skipped."""
    current_phase: str | None = None
    """Phase the operator was last in."""
    last_operator: str = ""
    """Who wrote the latest event."""
    events: int = 0
    """Events in the journal."""
    checklist_path: str | None = None
    """Checklist file the session was started (or last re-attached) with."""
    problem: str | None = None
    """Why the session could not be read (status ``damaged``)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``--json`` output."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def write_snapshot(directory: Path, record: dict[str, Any]) -> None:
    """Write ``session.json`` atomically: a temp file in the same dir, then replace.

    Not fsynced: the summary is a cache of the journal (which is fsynced), checked by its
    ``journal_size`` and CRC when read, and rebuilt from the journal when stale or torn (a power
    cut). Two fsyncs more per event were a third of what every tick and check result cost the
    screen.
    """
    path = directory / SNAPSHOT_NAME
    temp = directory / f"{SNAPSHOT_NAME}.{os.getpid()}.tmp"
    record = json.loads(json.dumps({"schema": SCHEMA_VERSION, **record}, default=str))
    record["check"] = _checksum(record)
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):  # else removed as a stale *.tmp at the next start
            temp.unlink(missing_ok=True)
        reason = ("no space left on the device" if error.errno in (errno.ENOSPC, errno.EDQUOT)
                  else error.strerror or str(error))
        raise RsdeployError(
            "Summary not updated",
            f"The event was recorded in the journal (events.jsonl); only the summary {path} "
            f"could not be rewritten ({reason}). Nothing needs repeating: the summary is rebuilt "
            "from the journal when the session is next listed or opened."
            + (" Free some space: the next event may not fit." if error.errno in
               (errno.ENOSPC, errno.EDQUOT) else "")) from None


class SnapshotWriter:
    """Writes one session's summaries in a daemon thread; only the newest one pending is kept.

    ``on_warning`` gets a failure's sentence (the journal already holds the event). ``flush``
    waits for what was submitted; ``close`` flushes and ends the thread.
    """

    def __init__(self, directory: Path, on_warning: Callable[[str], None]) -> None:
        self.directory = directory
        self._on_warning = on_warning
        self._changed = threading.Condition()
        self._pending: dict[str, Any] | None = None
        self._writing = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, record: dict[str, Any]) -> None:
        """Queue ``record`` (replacing one not yet written)."""
        with self._changed:
            if self._closed:
                return
            self._pending = record
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="session.json",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is written (False: still writing after ``timeout``)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._pending is None and not self._writing, timeout)

    def close(self) -> None:
        """Write what is pending, then end the thread."""
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return
                record, self._pending, self._writing = self._pending, None, True
            try:
                write_snapshot(self.directory, record)
            except RsdeployError as error:
                self._on_warning(f"{error.title}: {error.message}")
            except Exception as error:  # noqa: BLE001 - a cache must never take the app down
                self._on_warning(f"Summary not updated: {error}")
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()


def _checksum(record: dict[str, Any]) -> str:
    """CRC32 of the snapshot's canonical form without its ``check`` member."""
    body = {k: v for k, v in record.items() if k != "check"}
    canonical = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{zlib.crc32(canonical.encode('utf-8')):08x}"


def read_snapshot(directory: Path) -> dict[str, Any] | None:
    """The snapshot as a dict, or None when missing, unreadable, not JSON or an older schema.

    Raises:
        NewerSession: the snapshot was written by a newer rsdeploy-tui.
    """
    path = directory / SNAPSHOT_NAME
    try:
        raw = read_regular(path)  # a FIFO there is refused, never waited on
        record = json.loads(raw) if raw is not None else None
    except (RsdeployError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("schema"), int):
        return None
    if record["schema"] > SCHEMA_VERSION:
        raise NewerSession(
            "Session from a newer rsdeploy-tui",
            f"{path} has schema version {record['schema']}; this rsdeploy-tui reads version "
            f"{SCHEMA_VERSION}. Upgrade rsdeploy-tui to open it.")
    return record if record["schema"] == SCHEMA_VERSION else None


def snapshot_summary(record: dict[str, Any] | None, journal_size: int) -> SessionSummary | None:
    """The summary a snapshot holds, when it is well-formed and as new as the journal."""
    if record is None or record.get("journal_size") != journal_size:
        return None
    if record.get("check") != _checksum(record):
        return None  # changed by hand (or by an older version): the journal decides
    fields = SessionSummary.__dataclass_fields__
    try:
        summary = SessionSummary(**{k: v for k, v in record.items() if k in fields})
    except TypeError:
        return None
    texts = (summary.id, summary.checklist, summary.operator, summary.created, summary.status)
    numbers = (summary.done, summary.total, summary.critical_pending, summary.events)
    if all(isinstance(t, str) for t in texts) and all(type(n) is int for n in numbers):
        return summary
    return None


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove ``*.tmp`` files a killed writer left behind (call only while holding the lock)."""
    removed = []
    for temp in directory.glob("*.tmp"):
        try:
            temp.unlink()
            removed.append(temp)
        except OSError:
            pass  # harmless: a temp file is never read
    return removed
