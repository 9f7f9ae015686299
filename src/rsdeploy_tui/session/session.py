"""An open session: its identity, its events, and ``record`` — the only way anything changes."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import MAX_DEPTH, Event, EventDamaged, check_event, iso
from rsdeploy_tui.session.journal import (
    JOURNAL_NAME,
    JournalConflict,
    JournalWriter,
    read_journal,
    storage_error,
)
from rsdeploy_tui.session.lock import LOCK_NAME, LockHolder, SessionLock, current_holder
from rsdeploy_tui.session.redact import Redactor
from rsdeploy_tui.session.remembered import Remembered, remembered_in
from rsdeploy_tui.session.snapshot import SessionSummary, SnapshotWriter
from rsdeploy_tui.session.state import SessionState, _apply, derive_state

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist


class ReadOnlySession(RsdeployError):
    """``record`` was called on a session opened read-only (or already closed)."""


@datarecord(frozen=True)
class SessionMeta:
    """What a session is: recorded in its first event (and ``checklist_changed`` events)."""

    id: str
    """Session id."""
    checklist: str
    """Checklist name."""
    checklist_path: str | None
    """Checklist file (absolute path as recorded)."""
    sha256: str
    """Hex digest of the checklist file the session currently follows."""
    vars: dict[str, str]
    """Resolved non-secret vars (redacted)."""
    operator: str
    """Who started the session."""
    host: str
    """Where it was started."""
    ssh_from: str | None
    """Client address of the SSH connection it was started from."""
    created: str
    """When it was started (UTC ISO-8601)."""
    secrets: tuple[str, ...]
    """The checklist's secret environment variable names (names only)."""
    items: tuple[str, ...]
    """Qualified ids of the checklist's items (for counts without the checklist file)."""
    critical: tuple[str, ...]
    """Qualified ids of its critical items."""


@datarecord(frozen=True)
class JournalChanges:
    """What ``Session.read_changes`` found on disk (apply it with ``apply_changes``)."""

    stamp: tuple[int, ...] | None
    """(inode, size, mtime_ns) of the journal read, None when it is missing."""
    events: list[Event] | None
    """Every event of the journal when it changed; None when it did not."""
    holder: LockHolder | None
    """Who holds the lock now (None: nobody)."""


SECRET_DIGESTS = "secret_digests"
"""Event data key holding salted digests of secret values (``session.redact.Remembered``)."""


def _remembered(events: list[Event]) -> Remembered:
    found = remembered_in(event.data.get(SECRET_DIGESTS) for event in events
                          if isinstance(event.data, dict) and SECRET_DIGESTS in event.data)
    return found if found is not None else Remembered.new()


def meta_from(session_id: str, events: list[Event]) -> SessionMeta:
    """Read the meta from ``session_created`` and any later ``checklist_changed`` events."""
    first = events[0]
    data = first.data
    meta = dict(
        id=session_id, checklist=str(data.get("checklist", "")), checklist_path=data.get("path"),
        sha256=str(data.get("sha256", "")), vars=dict(data.get("vars") or {}),
        operator=first.operator, host=first.host, ssh_from=data.get("ssh_from"),
        created=first.at, secrets=tuple(data.get("secrets") or ()),
        items=tuple(data.get("items") or ()), critical=tuple(data.get("critical") or ()))
    for event in events:
        if event.kind == "checklist_changed":
            update_meta(meta, event)
    return SessionMeta(**meta)  # type: ignore[arg-type]


def update_meta(meta: dict[str, Any], event: Event) -> None:
    """Apply a ``checklist_changed`` event to a meta dict."""
    data = event.data
    meta.update(checklist=str(data.get("checklist", meta["checklist"])), checklist_path=data.get(
        "path"), sha256=str(data.get("sha256", "")), items=tuple(data.get("items") or ()),
        critical=tuple(data.get("critical") or ()))


def checklist_identity(checklist: Checklist) -> dict[str, Any]:
    """The event data naming a checklist: name, path, sha256, item and critical ids, secrets."""
    return {
        "checklist": checklist.name,
        "path": str(checklist.path.resolve()) if checklist.path else None,
        "sha256": checklist.sha256,
        "items": [item.qid for item in checklist.iter_items()],
        "critical": [item.qid for item in checklist.iter_items() if item.critical],
    }


@datarecord(frozen=True)
class ChecklistChange:
    """The checklist file differs from the one the session was following."""

    old_sha256: str
    new_sha256: str
    added: tuple[str, ...]
    """Item ids in the new file only."""
    removed: tuple[str, ...]
    """Item ids the session knew that the new file lacks (their events are kept)."""

    def explain(self) -> str:
        """Sentences for the operator saying what changed."""
        parts = [f"The checklist file changed since this session last used it "
                 f"(sha256 {self.old_sha256[:12]} -> {self.new_sha256[:12]})."]
        if self.added:
            parts.append(f"Added: {', '.join(self.added)}.")
        if self.removed:
            parts.append(f"Removed: {', '.join(self.removed)} (their history stays in the "
                         "session).")
        if not (self.added or self.removed):
            parts.append("The same items are there; texts, commands or checks may differ.")
        return " ".join(parts)


class Session:
    """A session opened through ``SessionStore``: read its events, record new ones.

    Attributes:
        id: Session id.
        dir: Session directory (run logs and backups go under it).
        meta: What the session is (``SessionMeta``).
        events: Every event, oldest first (do not modify).
        read_only: True when opened without the lock; ``record`` then raises.
        redactor: Redacts this session's secrets (checklist ``secrets`` + well-known names).
        operator: Who drives the session in this process.
        holder: For a read-only open, who holds the lock (None when nobody does).
        warnings: Sentences about what was found on open (torn tail set aside, snapshot rebuilt).
    """

    def __init__(self, directory: Path, events: list[Event], *, operator: str,
                 read_only: bool, lock: SessionLock | None, writer: JournalWriter | None,
                 clock: Callable[[], datetime], warnings: list[str] | None = None,
                 holder: LockHolder | None = None) -> None:
        self.dir = directory
        self.id = directory.name
        self.events = events
        self.operator = operator
        self.read_only = read_only
        self.host = socket.gethostname()
        self.holder = holder
        self.warnings = list(warnings or [])
        self.on_warning: Callable[[], None] | None = None
        """Called (from any thread) after ``warn`` added a sentence to ``warnings``."""
        self._lock = lock
        self._writer = writer
        self._clock = clock
        self.meta = meta_from(self.id, events)
        # secret values seen in this session, as salted digests: masked after a resume in a
        # shell that no longer has them in its environment
        self.redactor = Redactor(self.meta.secrets, remembered=_remembered(events))
        self._live = derive_state(events)
        self._cached: tuple[int, Checklist | None, SessionState] | None = None
        self._recording = threading.Lock()
        self._snapshots: SnapshotWriter | None = None
        # (inode, size, mtime) of the journal when last read by ``read_changes``
        self._journal_stamp: tuple[int, ...] | None = None
        # the shared store (session/shared/): a SharedSync uploading this holder's events, or
        # for a read-only session a callable returning the store's events beyond ours
        self.shared: Any = None
        self.follow_shared: Callable[[Session], tuple[list[Event], LockHolder | None]] | None \
            = None
        # opened read-only because events set aside after a conflict wait for the operator's
        # decision (session/conflicts.py: PendingConflicts), else None
        self.conflicts: Any = None
        # the SharedStore itself (holder or viewer): runs started elsewhere are read from it
        self.shared_store: Any = None

    # -- reading ---------------------------------------------------------------------------

    def state(self, checklist: Checklist | None = None) -> SessionState:
        """The state derived from the events; with a checklist every item is present.

        Without a checklist only the checklist-independent parts are complete (facts, status,
        phase, rollback, gate overrides) and ``items`` holds the items events mention. The same
        object is returned until a new event is recorded; treat it as read-only.
        """
        cached = self._cached
        if cached is None or cached[0] != len(self.events) or cached[1] is not checklist:
            cached = self._cached = (len(self.events), checklist,
                                     derive_state(self.events, checklist))
        return cached[2]

    def refresh(self) -> list[Event]:
        """Read-only sessions: pick up events the driving process appended since; returns them."""
        if not self.read_only:
            return []
        return self.apply_changes(self.read_changes())

    def read_changes(self) -> JournalChanges:
        """What changed on disk since the last look: blocking, any thread, changes nothing.

        Cheap when nothing did: the journal is read again only when its size, mtime or inode
        moved (one ``stat``); who holds the lock is read every time (a crashed holder leaves
        its lock file as it was). Hand the result to ``apply_changes`` on the thread that owns
        the session.

        Raises:
            SessionDamaged, NewerSession, RsdeployError: as ``read_journal``.
        """
        if self.follow_shared is not None:  # a viewer on another machine: the store's events
            new, holder = self.follow_shared(self)
            return JournalChanges(None, [*self.events, *new] if new else None, holder)
        path = self.dir / JOURNAL_NAME
        try:
            info = os.stat(path)
            stamp: tuple[int, ...] | None = (info.st_ino, info.st_size, info.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        except OSError as error:
            raise storage_error(error, path, "check") from None
        events = read_journal(path).events if stamp != self._journal_stamp else None
        return JournalChanges(stamp, events, current_holder(self.dir / LOCK_NAME))

    def apply_changes(self, changes: JournalChanges) -> list[Event]:
        """Take in what ``read_changes`` found (read-only sessions); returns the new events."""
        if not self.read_only:
            return []
        self.holder = changes.holder
        if changes.events is None:
            return []
        self._journal_stamp = changes.stamp
        new = changes.events[len(self.events):]
        for event in new:
            self.events.append(event)
            _apply(self._live, event)
        if any(event.kind == "checklist_changed" for event in new):
            self.meta = meta_from(self.id, self.events)
        if any(SECRET_DIGESTS in event.data for event in new):
            added = self.redactor.added_values()
            self.redactor = Redactor(self.meta.secrets, remembered=_remembered(self.events))
            self.redactor.add_values(added)
        return new

    def summary(self) -> SessionSummary:
        """The session's line in ``rsdeploy-tui sessions``."""
        return summary_of(self.meta, self._live)

    def checklist_change(self, checklist: Checklist) -> ChecklistChange | None:
        """How ``checklist`` differs from the file the session follows (None when identical)."""
        if not checklist.sha256 or checklist.sha256 == self.meta.sha256:
            return None
        new = [item.qid for item in checklist.iter_items()]
        known = set(self.meta.items)
        return ChecklistChange(self.meta.sha256, checklist.sha256,
                               tuple(q for q in new if q not in known),
                               tuple(q for q in self.meta.items if q not in set(new)))

    # -- writing ---------------------------------------------------------------------------

    def record(self, kind: str, item: str | None = None, **data: Any) -> Event:
        """Redact, append and fsync one event, then refresh the snapshot; returns the event.

        Raises:
            ReadOnlySession: opened read-only or closed.
            RsdeployError: the disk refused the write, or the data would not load again (too
                deep, a field of the wrong type): nothing was recorded then.
        """
        return self.record_data(kind, item, data)

    def record_data(self, kind: str, item: str | None, data: dict[str, Any]) -> Event:
        """``record`` with the data as one mapping (any keys: an event recorded again)."""
        with self._recording:  # a worker thread and the UI may record at the same moment
            self._refuse_if_read_only(kind)
            remember = self.redactor.remember_new()
            if remember is not None and kind in ("session_resumed", "lock_taken_over"):
                data, remember = {**data, SECRET_DIGESTS: remember}, None
            events = self._remembered_event(remember)
            event = self._event(kind, item, data, seq=len(self.events) + len(events) + 1)
            self._commit([*events, event])
            return event

    def record_many(self, entries: Sequence[tuple[str, str | None, dict[str, Any]]]
                    ) -> list[Event | RsdeployError]:
        """Record several events with one write and one fsync: check results that land
        together, so each does not wait for the others' turn at the disk.

        Each event is redacted and checked as ``record`` does it; one that would not load
        again gets its ``RsdeployError`` in its place in the answer, and the others are
        recorded. A refused write (disk, journal conflict, read-only) raises as ``record``
        does, and then nothing of the batch was written.
        """
        with self._recording:
            self._refuse_if_read_only(entries[0][0] if entries else "")
            events = self._remembered_event(self.redactor.remember_new())
            outcomes: list[Event | RsdeployError] = []
            for kind, item, data in entries:
                try:
                    event = self._event(kind, item, data, seq=len(self.events) + len(events) + 1)
                except RsdeployError as error:
                    outcomes.append(error)
                    continue
                events.append(event)
                outcomes.append(event)
            if events:
                self._commit(events)
            return outcomes

    def _refuse_if_read_only(self, kind: str) -> None:
        if self._writer is None:
            why = "was opened read-only" if self.read_only else "is closed"
            raise ReadOnlySession(
                "Session is read-only",
                f"Session {self.id} {why}"
                + (f" while {self.holder.describe()} drives it" if self.holder else "")
                + f"; '{kind}' was not recorded.")

    def _remembered_event(self, remember: dict[str, Any] | None) -> list[Event]:
        """A secret set mid-session (a value dialog) is remembered in its own event, written
        before the event that may quote it (no redaction: it holds salted digests only)."""
        if remember is None:
            return []
        return [Event(len(self.events) + 1, "secrets_remembered", iso(self._clock()),
                      self.redactor.text(self.operator), self.host, None,
                      {SECRET_DIGESTS: remember})]

    def _commit(self, events: list[Event]) -> None:
        """Write events in one append (one fsync), then take them in and refresh the snapshot."""
        assert self._writer is not None
        try:
            self._writer.append_many(events)
        except JournalConflict as conflict:
            self._journal_conflict()
            raise ReadOnlySession(conflict.title, conflict.message) from None
        for event in events:
            self.events.append(event)
            _apply(self._live, event)
            if event.kind == "checklist_changed":
                self.meta = meta_from(self.id, self.events)
        self.write_snapshot()

    def _event(self, kind: str, item: str | None, data: dict[str, Any], seq: int) -> Event:
        """The event numbered ``seq``, redacted and checked as a reload will check it.

        What ``record`` writes must always load again: data a reload would call damaged (too
        deep, a field of the wrong type) is refused here, before anything is written.
        """
        try:
            # through JSON once, so the event in memory equals the one a reload gives back
            clean = json.loads(json.dumps(self.redactor.value(data), default=str))
            event = Event(seq, kind, iso(self._clock()),
                          self.redactor.text(self.operator), self.host, item, clean)
            check_event(event)
        except (EventDamaged, RecursionError) as error:
            why = str(error) if isinstance(error, EventDamaged) else (
                f"its data is nested more than {MAX_DEPTH} levels deep")
            raise RsdeployError("Event not recorded", f"'{kind}' was not recorded in session "
                                f"{self.id}: {why}. Nothing was written; this is a bug in what "
                                "produced the data, not in the session.") from None
        return event

    def adopt_checklist(self, checklist: Checklist) -> Event:
        """Follow a changed checklist file from now on, recording ``checklist_changed``."""
        change = self.checklist_change(checklist)
        return self.record("checklist_changed", old_sha256=self.meta.sha256,
                           added=list(change.added if change else ()),
                           removed=list(change.removed if change else ()),
                           **checklist_identity(checklist))

    def write_snapshot(self, wait: bool = False) -> None:
        """Have ``session.json`` rewritten, off this thread (``wait``: written on return).

        A failure becomes a warning (the journal already has the event).
        """
        if self._writer is None:
            return
        record = self.summary().to_dict()
        record.update(journal_size=self._writer.size, sha256=self.meta.sha256,
                      ssh_from=self.meta.ssh_from)
        last = self._live.last_event
        if last is not None:
            record["last"] = {"kind": last.kind, "item": last.item, "at": last.at}
        if self._snapshots is None:
            self._snapshots = SnapshotWriter(self.dir, self.warn)
        self._snapshots.submit(self.redactor.value(record))
        if wait:
            self._snapshots.flush()

    def warn(self, text: str) -> None:
        """Add a warning that comes after the fact (``session.json`` is written by a thread,
        after the event was recorded), and tell whoever listens."""
        self.warnings.append(text)
        listener = self.on_warning
        if listener is not None:
            listener()

    def flush_snapshot(self, timeout: float = 10.0) -> bool:
        """Wait until ``session.json`` holds the latest event (its failure is in ``warnings``)."""
        return self._snapshots is None or self._snapshots.flush(timeout)

    def close(self) -> None:
        """Stop writing and release the lock (idempotent)."""
        with self._recording:
            self._stop_writing()
        if self.shared is not None:  # what is left goes up, then the lease is let go
            shared, self.shared = self.shared, None
            self.warnings.extend(shared.stop())

    def _stop_writing(self) -> None:
        if self._snapshots is not None:  # written while the lock is still held
            self._snapshots.close()
            self._snapshots = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _journal_conflict(self) -> None:
        """Another writer was found: from now on this process only reads the session."""
        self._stop_writing()
        self.read_only = True

    def follow_instead(self, events: list[Event], holder: LockHolder | None,
                       follow: Callable[[Session], tuple[list[Event], LockHolder | None]] | None
                       ) -> None:
        """Stop driving: from now on the session is ``events`` (what the journal holds now,
        rewritten by the caller) and read-only, following ``follow`` (the shared store)."""
        with self._recording:
            self._stop_writing()
            self.read_only = True
            live = derive_state(events)
            self.meta = meta_from(self.id, events)
            self.events = list(events)
            self._live = live
            self._cached = None
            self.holder = holder
            self.follow_shared = follow

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def summary_of(meta: SessionMeta, state: SessionState) -> SessionSummary:
    """A ``SessionSummary`` from the meta and the checklist-independent derived state."""
    done, total, critical = state.count_ids(meta.items, meta.critical)
    last = state.last_event
    return SessionSummary(
        id=meta.id, checklist=meta.checklist, operator=meta.operator, host=meta.host,
        created=meta.created, updated=last.at if last else meta.created, status=state.status,
        done=done, total=total, critical_pending=critical, current_phase=state.current_phase,
        last_operator=last.operator if last else meta.operator, events=state.events,
        checklist_path=meta.checklist_path)
