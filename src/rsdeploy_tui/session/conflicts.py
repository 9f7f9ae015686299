"""Events set aside after a conflict between machines, and the operator's decision on them.

When this machine's copy of a shared session and the store's journal differ at one number
(another machine drove the session meanwhile), this machine's events from there on are moved to
``events.jsonl.conflict-<n>`` beside the journal, and the journal becomes the store's. Nothing is
merged silently: the session stays read-only here until the operator decides, and the side file
is never deleted, whatever the decision.

Deciding is recorded, on top of the store's journal, by a process that holds the session by the
normal rules: either some or all set-aside events are recorded again (``rerecord``), each with a
``rerecorded_from`` mark naming the side file and the event's original number, time, operator and
host, then ``conflict_decided(decision="rerecorded")``; or ``conflict_decided(decision=
"kept_store")`` alone says the events stay set aside, and where. The decision names the side file
by name and SHA-256, so the same file is never decided twice and a later conflict (another file)
asks again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError, UsageError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import Event, EventFormatError, NewerSchemaError, parse_line
from rsdeploy_tui.session.journal import JOURNAL_NAME, fsync_dir, read_regular, storage_error

if TYPE_CHECKING:
    from rsdeploy_tui.session.session import Session

SIDE_PREFIX = f"{JOURNAL_NAME}.conflict-"
REREC = "rerecorded_from"
"""Event data key marking an event recorded again from a side file (``events.DATA_SCHEMA``)."""

NOT_REPLAYED = frozenset({
    "session_created", "session_resumed", "lock_taken_over", "lease_claimed", "cursor",
    "secrets_remembered", "conflict_decided", "checklist_changed",
})
"""Kinds that say how a process opened or left the session, not what the operator did: listed
with the set-aside events, never recorded again."""

KEPT_STORE = "kept_store"
RERECORDED = "rerecorded"


@datarecord(frozen=True)
class SideFile:
    """One ``events.jsonl.conflict-<n>`` of a session, with the decision taken on it."""

    path: Path
    name: str
    sha256: str
    events: list[Event]
    set_aside_at: str
    """When it was written (UTC ISO-8601, from the file)."""
    decision: Event | None
    """The ``conflict_decided`` event naming it (None: not decided yet)."""

    def replayable(self) -> list[Event]:
        """Its events that a decision may record again (the operator's own doing)."""
        return [e for e in self.events if e.kind not in NOT_REPLAYED]


@datarecord
class PendingConflicts:
    """What a session opened read-only because of undecided side files offers the operator."""

    files: list[SideFile]
    decide: Callable[[str, str, list[int] | None, bool], Session]
    """``decide(name, choice, seqs, take_over) -> Session``: record the decision (``choice``
    ``rerecord`` with ``seqs`` None for all, or ``keep_store``) and return the session open for
    writing. Blocking (the store, the lease): call it in a thread."""


def set_aside(journal: Path, lines: list[bytes]) -> Path:
    """Write ``lines`` (this machine's events) to the next free ``conflict-<n>`` side file."""
    for number in range(1, 1000):
        side = journal.with_name(f"{SIDE_PREFIX}{number}")
        try:
            fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        except OSError as error:
            raise storage_error(error, side, "create") from None
        try:
            _write_all(fd, b"".join(lines))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(journal.parent)
        return side
    raise RsdeployError("Too many conflict files", f"{journal.parent} holds 999 conflict files.")


def rewrite(journal: Path, bodies: list[bytes]) -> None:
    """Replace the journal with ``bodies`` (the store's events), atomically and durably."""
    temporary = journal.with_name(f".{journal.name}.shared.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, b"".join(bodies))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, journal)
        fsync_dir(journal.parent)
    except OSError as error:
        raise storage_error(error, journal, "rebuild") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def side_files(directory: Path, events: Iterable[Event]) -> list[SideFile]:
    """Every side file of the session in ``directory``, oldest first, each with its decision.

    Raises:
        RsdeployError: a side file cannot be read, or holds a line that is not an event (the
            file and line are named; nothing is changed).
    """
    decisions = {(str(e.data.get("file")), str(e.data.get("sha256"))): e for e in events
                 if e.kind == "conflict_decided"}
    found: list[SideFile] = []
    try:
        names = sorted((p.name for p in directory.iterdir() if p.name.startswith(SIDE_PREFIX)
                        and p.name[len(SIDE_PREFIX):].isdigit()),
                       key=lambda name: int(name[len(SIDE_PREFIX):]))
    except FileNotFoundError:
        return []
    except OSError as error:
        raise storage_error(error, directory, "list") from None
    for name in names:
        path = directory / name
        data = read_regular(path) or b""
        sha = hashlib.sha256(data).hexdigest()
        try:
            stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError as error:
            raise storage_error(error, path, "read") from None
        found.append(SideFile(path, name, sha, _events_of(path, data),
                              stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
                              decisions.get((name, sha))))
    return found


def undecided(directory: Path, events: Iterable[Event]) -> list[SideFile]:
    """The side files no decision names yet (the session stays read-only while there are)."""
    return [side for side in side_files(directory, events) if side.decision is None]


def _events_of(path: Path, data: bytes) -> list[Event]:
    events = []
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            events.append(parse_line(line, require_crc=True))
        except (EventFormatError, NewerSchemaError) as error:
            raise RsdeployError("Side file unreadable", f"{path}, line {number}: not an event "
                                f"({error}). Nothing was changed; the file is kept as it "
                                "is.") from None
    return events


def chosen(side: SideFile, seqs: list[int] | None) -> list[Event]:
    """The events of ``side`` to record again: ``seqs`` (their numbers in the side file), or all
    that may be (None). A run's start and its end go together: choosing one takes both.

    Raises:
        UsageError: a number the side file does not hold, or one that only says how a process
            opened the session (never recorded again).
    """
    replayable = side.replayable()
    if seqs is None:
        return replayable
    by_seq = {e.seq: e for e in side.events}
    for seq in seqs:
        if seq not in by_seq:
            held = ", ".join(str(e.seq) for e in side.events)
            raise UsageError("No such set-aside event",
                             f"{side.name} holds events {held}, not {seq}.")
        if by_seq[seq].kind in NOT_REPLAYED:
            raise UsageError("Not an operator's event",
                             f"Event {seq} of {side.name} ({by_seq[seq].kind}) says how a "
                             "process opened the session; it is never recorded again.")
    wanted = set(seqs)
    runs = {str(by_seq[s].data.get("run")) for s in wanted
            if by_seq[s].kind in ("command_started", "command_finished", "run_cancelled")}
    return [e for e in replayable if e.seq in wanted or (
        e.kind in ("command_started", "command_finished", "run_cancelled")
        and str(e.data.get("run")) in runs)]


def mark(side: SideFile, event: Event) -> dict[str, Any]:
    """The ``rerecorded_from`` mark of an event recorded again from ``side``."""
    return {"file": side.name, "sha256": side.sha256, "seq": event.seq, "at": event.at,
            "operator": event.operator, "host": event.host}


def apply_decision(session: Session, side: SideFile, choice: str,
                   seqs: list[int] | None) -> list[Event]:
    """Record the decision on ``side`` in ``session`` (open for writing); returns what was
    recorded. Events already recorded again from this file (a decision cut short) are not
    recorded twice.

    Raises:
        UsageError: an unknown choice or event number.
        ReadOnlySession, RsdeployError: as ``Session.record``.
    """
    if choice not in ("rerecord", "keep_store"):
        raise UsageError("Unknown decision", f"'{choice}': expected rerecord or keep_store.")
    again = chosen(side, seqs) if choice == "rerecord" else []
    done = {(m.get("file"), m.get("sha256"), m.get("seq")) for e in session.events
            if isinstance(m := e.data.get(REREC), dict)}
    recorded = []
    for event in again:
        if (side.name, side.sha256, event.seq) in done:
            continue
        data = {k: v for k, v in event.data.items() if k != REREC}
        recorded.append(session.record_data(event.kind, event.item,
                                            {**data, REREC: mark(side, event)}))
    picked = {e.seq for e in again}
    recorded.append(session.record_data("conflict_decided", None, {
        "file": side.name, "sha256": side.sha256, "path": str(side.path),
        "decision": RERECORDED if choice == "rerecord" else KEPT_STORE,
        "rerecorded": sorted(picked),
        "set_aside": [e.seq for e in side.events if e.seq not in picked],
        "events": len(side.events)}))
    return recorded
