"""``SharedStore``: a ``SessionStore``'s link to the shared store on S3.

The store calls it at three points: before opening a session for writing (``claim``: take the
lease, then ``sync_local``: rebuild or extend the local copy from the store's events), once the
``Session`` exists (``attach``: its appends are uploaded from then on), and for ``sessions``
(``summaries``). Read-only sessions follow the store's events (``follow``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.conflicts import rewrite, set_aside
from rsdeploy_tui.session.journal import (
    JOURNAL_NAME,
    JournalWriter,
    read_regular,
    storage_error,
)
from rsdeploy_tui.session.shared.bucket import Bucket, Unreachable
from rsdeploy_tui.session.shared.lease import Claim, Lease
from rsdeploy_tui.session.shared.objects import (
    SharedJournalDamaged,
    fetch_journal,
    line_sha,
    sessions_prefix,
    short_of,
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

    def sync_local(self, directory: Path, claim: Claim | None = None) -> LocalSync:
        """Bring the local journal up to the store's events (the lease is held: ``claim``).

        The local copy is extended with the store's events it lacks (a resume on another
        machine builds it whole); local events the store lacks are uploaded by ``attach``. Where
        the two differ at the same number (another machine took over while this one was
        offline), the local events from there on go to ``events.jsonl.conflict-<n>`` and the
        store's events become the journal: nothing is merged silently, nothing is lost.

        Objects past the store's journal (``objects.Tail``) are the leftovers of a holder cut
        off mid-upload, or of a writer beaten to a number: not part of the journal (the uploader
        replaces them, keeping a copy). A journal shorter than what the previous holder had put
        (its lease's ``committed``) is damage.
        """
        try:
            journal = fetch_journal(self.bucket, directory.name)
        except Unreachable as error:
            return LocalSync(None, warnings=[f"{error.message} Working on the local copy; events "
                                             "go up when the store answers."])
        result = LocalSync(len(journal.events), warnings=[])
        assert result.warnings is not None
        previous = claim.previous if claim is not None else None
        damage = short_of(journal, 1, previous.committed if previous else 0,
                          f"its lease {self.url}/sessions/{directory.name}/lease")
        if damage is not None:
            raise damage
        if journal.tail is not None:
            result.warnings.append(
                f"Objects past the store's journal: {journal.tail.reason}. The "
                f"{journal.tail.objects} objects from event {journal.tail.first} on are the "
                "leftovers of a writer cut off mid-upload or beaten to a number (its machine's "
                "copy has them), not part of the journal; they are kept in the store when this "
                "process writes those numbers.")
        remote = journal.events
        journal_path = directory / JOURNAL_NAME
        local = read_regular(journal_path) or b""
        lines = [line + b"\n" for line in local.split(b"\n")[:-1]]
        common = _common(lines, [body for _event, body in remote])
        if common < len(lines) and common < len(remote):
            result.side_file = set_aside(journal_path, lines[common:])
            rewrite(journal_path, [body for _event, body in remote])
            result.warnings.append(
                f"Events {common + 1}-{len(lines)} of this machine's copy differ from the "
                f"shared store's (another machine drove the session meanwhile). They were kept "
                f"in {result.side_file}, the journal now holds the store's {len(remote)} events, "
                "and the session is open read-only until you decide what to do with them.")
            return result
        if len(remote) > len(lines):
            writer = JournalWriter(journal_path, len(local))
            try:
                for event, _body in remote[len(lines):]:
                    writer.append(event)
            finally:
                writer.close()
        return result

    def attach(self, session: Session, lease: Lease | None, shared: int) -> SharedSync:
        """Upload ``session``'s appends from now on (and its local events the store lacks)."""
        prev = line_sha(session.events[shared - 1].to_line()) if shared else ""
        if lease is not None:
            lease.committed = max(lease.committed, shared)
        sync = SharedSync(self, session.id, lease, list(session.events[shared:]), prev)
        sync.session = session
        writer = session._writer  # noqa: SLF001 - the one hook: appends go through SharedWriter
        if writer is not None:
            session._writer = SharedWriter(writer, sync)  # type: ignore[assignment]  # noqa: SLF001
        session.shared = sync
        session.shared_store = self  # its detached runs upload to it (run_upload.py)
        sync.start()
        return sync

    def stop_driving(self, session: Session, holder: LockHolder | None) -> Path | None:
        """``session`` (appends refused already) stops driving: its events the store lacks go
        to a side file, the journal becomes the store's, and it follows the store read-only.
        Returns the side file (None: the store had all of them)."""
        if holder is None:
            current = Lease(self.bucket, session.id, "").read()
            if current is not None and current[0].live(datetime.now(UTC)):
                holder = current[0].as_holder()
        journal = fetch_journal(self.bucket, session.id)
        remote = [body for _event, body in journal.events]
        journal_path = session.dir / JOURNAL_NAME
        local = read_regular(journal_path) or b""
        lines = [line + b"\n" for line in local.split(b"\n")[:-1]]
        common = _common(lines, remote)
        side = set_aside(journal_path, lines[common:]) if common < len(lines) else None
        if side is not None or len(remote) != len(lines):
            rewrite(journal_path, remote)
        session.follow_instead([event for event, _body in journal.events], holder, self.follow)
        if side is not None:
            session.warnings.append(f"This machine's events that the shared store lacks were set "
                                    f"aside in {side}.")
        return side

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
        viewers; blocking).

        Objects past the journal's end are uploads in flight or a loser's leftovers: "not yet"
        (shown once they follow on). A journal that ends before what the holder had put (its
        lease's ``committed``, read before the listing) is damage, named.

        Raises:
            SharedJournalDamaged: as ``objects.fetch_journal``, or a journal short of the
                lease's ``committed``.
            Unreachable, RsdeployError: the store cannot be read.
        """
        return self.look(session.id, session.events)

    def look(self, session_id: str, have: list[Event]) -> tuple[list[Event], LockHolder | None]:
        """``follow`` for a viewer holding ``have`` (the store's first events) of a session."""
        current = Lease(self.bucket, session_id, "").read()
        prev = line_sha(have[-1].to_line()) if have else None
        journal = fetch_journal(self.bucket, session_id, start=len(have) + 1, prev=prev)
        damage = short_of(journal, len(have) + 1, current[0].committed if current else 0,
                          f"its lease {self.url}/sessions/{session_id}/lease")
        if damage is not None:
            raise damage
        live = current is not None and current[0].live(datetime.now(UTC))
        holder = current[0].as_holder() if current is not None and live else None
        return [event for event, _body in journal.events], holder

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
            current = Lease(self.bucket, session_id, "").read()
            journal = fetch_journal(self.bucket, session_id)
            damage = short_of(journal, 1, current[0].committed if current else 0,
                              f"its lease {self.url}/sessions/{session_id}/lease")
            if damage is not None:
                raise damage
            events = [event for event, _body in journal.events]
            if not events:
                raise RsdeployError("No such session", f"There is no session {session_id} in "
                                    f"{self.url}.")
            summary = summary_of(meta_from(session_id, events), derive_state(events))
            if current is not None and current[0].live(datetime.now(UTC)):
                summary = dataclasses.replace(summary, host=current[0].host,
                                              last_operator=current[0].holder)
            return summary
        except SharedJournalDamaged as error:
            return SessionSummary(id=session_id, checklist="?", operator="?", host="?",
                                  created="", updated="", status="damaged",
                                  problem=f"{error.title}: {error.message}")


def _common(mine: list[bytes], theirs: list[bytes]) -> int:
    """How many events the two copies share from the first on."""
    common = 0
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            break
        common += 1
    return common
