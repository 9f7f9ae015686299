"""``session.json``: a small summary for fast listing, written atomically after every event.

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
import zlib
from pathlib import Path
from typing import Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import SCHEMA_VERSION
from rsdeploy_tui.session.journal import NewerSession, fsync_dir, read_regular

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
    """Write ``session.json`` atomically: temp file in the same dir, fsync, replace, fsync dir."""
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
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsync_dir(directory)
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
