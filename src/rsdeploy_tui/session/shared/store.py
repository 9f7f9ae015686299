"""``SharedStore``: a ``SessionStore``'s link to the shared store on S3.

The store calls it at three points: before opening a session for writing (``claim``: take the
lease, then ``sync_local``: rebuild or extend the local copy from the store's events), once the
``Session`` exists (``attach``: its appends are uploaded from then on), and for ``sessions``
(``summaries``). Read-only sessions follow the store's events (``follow``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.journal import (
    JOURNAL_NAME,
    JournalWriter,
    fsync_dir,
    read_regular,
    storage_error,
)
from rsdeploy_tui.session.shared.bucket import Bucket, Unreachable
from rsdeploy_tui.session.shared.lease import Claim, Lease
from rsdeploy_tui.session.shared.objects import (
    SharedJournalDamaged,
    fetch_events,
    sessions_prefix,
)
from rsdeploy_tui.session.shared.uploader import SharedSync, SharedWriter
from rsdeploy_tui.session.shared.url import StoreUrl

if TYPE_CHECKING:
    from rsdeploy_tui.session.events import Event
    from rsdeploy_tui.session.lock import LockHolder
    from rsdeploy_tui.session.session import Session
    from rsdeploy_tui.session.snapshot import SessionSummary


@datarecord
class LocalSync:
    """What ``sync_local`` did to the local copy."""

    shared: int | None
    """Events the store holds (None: it could not be reached; the local copy is used as is)."""
    side_file: Path | None = None
    """Local events that conflict with the store's were moved here (the session then opens
    read-only until the operator decides)."""
    warnings: list[str] | None = None


class SharedStore:
    """One ``s3://BUCKET/PREFIX`` shared by every machine of the team."""

    def __init__(self, url: StoreUrl, bucket: Bucket | None = None) -> None:
        self.url = url
        self._bucket = bucket

    @property
    def bucket(self) -> Bucket:
        """The bucket (the boto3 client is built on first use)."""
        if self._bucket is None:
            from rsdeploy_tui.checklist.vars import load_config_vars

            self._bucket = Bucket(self.url, load_config_vars(""))
        return self._bucket

    def claim(self, session_id: str, operator: str, take_over: bool) -> tuple[Lease, Claim | None]:
        """Take the session's lease (None claim: the store did not answer; claimed later)."""
        lease = Lease(self.bucket, session_id, operator)
        try:
            return lease, lease.acquire(take_over=take_over)
        except Unreachable:
            return lease, None

    def sync_local(self, directory: Path) -> LocalSync:
        """Bring the local journal up to the store's events (the lease is held).

        The local copy is extended with the store's events it lacks (a resume on another
        machine builds it whole); local events the store lacks are uploaded by ``attach``. Where
        the two differ at the same number (another machine took over while this one was
        offline), the local events from there on go to ``events.jsonl.conflict-<n>`` and the
        store's events become the journal: nothing is merged silently, nothing is lost.
        """
        try:
            remote = fetch_events(self.bucket, directory.name)
        except Unreachable as error:
            return LocalSync(None, warnings=[f"{error.message} Working on the local copy; events "
                                             "go up when the store answers."])
        journal = directory / JOURNAL_NAME
        local = read_regular(journal) or b""
        lines = [line + b"\n" for line in local.split(b"\n")[:-1]]
        common = 0
        for mine, (_event, theirs) in zip(lines, remote, strict=False):
            if mine != theirs:
                break
            common += 1
        result = LocalSync(len(remote), warnings=[])
        if common < len(lines) and common < len(remote):
            result.side_file = _set_aside(journal, lines[common:])
            _rewrite(journal, [body for _event, body in remote])
            assert result.warnings is not None
            result.warnings.append(
                f"Events {common + 1}-{len(lines)} of this machine's copy differ from the "
                f"shared store's (another machine drove the session meanwhile). They were kept "
                f"in {result.side_file}, the journal now holds the store's {len(remote)} events, "
                "and the session is open read-only until you decide what to do with them.")
            return result
        if len(remote) > len(lines):
            writer = JournalWriter(journal, len(local))
            try:
                for event, _body in remote[len(lines):]:
                    writer.append(event)
            finally:
                writer.close()
        return result

    def attach(self, session: Session, lease: Lease | None, shared: int) -> SharedSync:
        """Upload ``session``'s appends from now on (and its local events the store lacks)."""
        sync = SharedSync(self.bucket, session.id, lease, list(session.events[shared:]))
        sync.session = session
        writer = session._writer  # noqa: SLF001 - the one hook: appends go through SharedWriter
        if writer is not None:
            session._writer = SharedWriter(writer, sync)  # type: ignore[assignment]  # noqa: SLF001
        session.shared = sync
        session.shared_store = self  # its detached runs upload to it (run_upload.py)
        sync.start()
        return sync

    def ensure_directory(self, root: Path, session_id: str) -> Path:
        """The local directory of a shared session, made when this machine has none yet."""
        directory = root / session_id
        try:
            root.mkdir(parents=True, exist_ok=True)
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError as error:
            raise storage_error(error, directory, "create") from None
        return directory

    def follow(self, session: Session) -> tuple[list[Event], LockHolder | None]:
        """Events the store holds beyond ``session``'s, and who holds the lease now (read-only
        viewers; blocking)."""
        new = [event for event, _body in fetch_events(self.bucket, session.id,
                                                      start=len(session.events) + 1)]
        current = Lease(self.bucket, session.id, "").read()
        holder = current[0].as_holder() if current is not None and not current[0].released \
            else None
        return new, holder

    def summaries(self) -> list[SessionSummary]:
        """Every shared session, newest first, from its events in the store."""
        found = [self.summary(session_id)
                 for session_id in self.bucket.folders(sessions_prefix(self.url))]
        found.sort(key=lambda s: (s.id[:16], s.created, s.id), reverse=True)
        return found

    def summary(self, session_id: str) -> SessionSummary:
        """One shared session's summary (holder from its lease); ``damaged`` when unreadable.

        Raises:
            RsdeployError: the store holds no such session.
        """
        from rsdeploy_tui.session.session import meta_from, summary_of
        from rsdeploy_tui.session.snapshot import SessionSummary
        from rsdeploy_tui.session.state import derive_state

        try:
            events = [event for event, _body in fetch_events(self.bucket, session_id)]
            if not events:
                raise RsdeployError("No such session", f"There is no session {session_id} in "
                                    f"{self.url}.")
            summary = summary_of(meta_from(session_id, events), derive_state(events))
            current = Lease(self.bucket, session_id, "").read()
            if current is not None and not current[0].released:
                summary = dataclasses.replace(summary, host=current[0].host,
                                              last_operator=current[0].holder)
            return summary
        except SharedJournalDamaged as error:
            return SessionSummary(id=session_id, checklist="?", operator="?", host="?",
                                  created="", updated="", status="damaged",
                                  problem=f"{error.title}: {error.message}")


def _set_aside(journal: Path, lines: list[bytes]) -> Path:
    for number in range(1, 1000):
        side = journal.with_name(f"{journal.name}.conflict-{number}")
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


def _rewrite(journal: Path, bodies: list[bytes]) -> None:
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
