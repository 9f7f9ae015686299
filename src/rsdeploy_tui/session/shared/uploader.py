"""Background upload of a held session's events, one object per event, in order.

``Session.record`` appends and fsyncs locally; the journal writer given to the session is a
``SharedWriter``, which hands each appended event to the uploader's queue and returns: the UI
never waits for the network. One thread puts ``events/<seq>`` with ``If-None-Match: *``, up to
``objects.WINDOW`` at once when events wait (a catch-up after an offline spell; ``puts``); a
refused number that another writer owns means this process stops writing as the holder (the
next ``record`` is refused, the session turns read-only) and nothing is overwritten. While the
store does not answer, events wait (in the local journal, and in the queue) and go up in order
once it does. A second thread renews the lease.

A process that opened the session while the store did not answer holds no lease yet: before
anything goes up it claims the lease (``_claim_late``) and compares its copy with the store's
journal. Whenever it stops being the holder with events the store lacks, those are set aside
in a side file at once, the journal becomes the store's, and the session follows the store
read-only (``_stop_driving``): the conflict path of ``SharedStore.sync_local``, while running.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session.journal import JournalConflict, JournalWriter
from rsdeploy_tui.session.lock import SessionLocked
from rsdeploy_tui.session.shared import puts
from rsdeploy_tui.session.shared.bucket import Bucket, Precondition, Unreachable
from rsdeploy_tui.session.shared.lease import RENEW_S, Claim, Lease, LeaseLost
from rsdeploy_tui.session.shared.objects import WINDOW, fetch_journal, line_sha, short_of

if TYPE_CHECKING:
    from pathlib import Path

    from rsdeploy_tui.session.events import Event
    from rsdeploy_tui.session.lock import LockHolder
    from rsdeploy_tui.session.session import Session
    from rsdeploy_tui.session.shared.store import SharedStore

RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Waits between attempts while the store does not answer (the last one repeats)."""


class SharedWriter:
    """A ``JournalWriter`` whose appends are also queued for the shared store."""

    def __init__(self, local: JournalWriter, sync: SharedSync) -> None:
        self._local = local
        self._sync = sync
        self.path = local.path

    @property
    def size(self) -> int:
        """Bytes of whole events in the local journal."""
        return self._local.size

    def append(self, event: Event) -> None:
        """Append locally (durable on return), then queue the upload; refused once lost."""
        self.append_many([event])

    def append_many(self, events: Sequence[Event]) -> None:
        """``append`` for several events written together (each goes up as its own object)."""
        if not events:
            return
        lost = self._sync.lost
        if lost is not None:
            raise JournalConflict(lost.title,
                                  f"{lost.message} '{events[0].kind}' was not recorded.")
        self._local.append_many(events)
        for event in events:
            self._sync.enqueue(event)

    def close(self) -> None:
        """Close the local journal (the uploader goes on until ``SharedSync.stop``)."""
        self._local.close()


class SharedSync:
    """Uploads one held session's events and renews its lease, in two daemon threads.

    Args:
        store: The shared store (its bucket, and how a viewer follows it).
        session_id: The session.
        lease: This process's lease (None: not claimed yet); ``lease.etag`` None: claim it
            once the store answers.
        pending: Events the store may lack, oldest first.
        prev: SHA-256 of the journal line before ``pending[0]`` ("" for the first event).
    """

    def __init__(self, store: SharedStore, session_id: str, lease: Lease | None,
                 pending: list[Event], prev: str = "") -> None:
        self.store = store
        self.bucket: Bucket = store.bucket
        self.session_id = session_id
        self.lease = lease
        self.lost: RsdeployError | None = None
        """Why this process stopped being the holder (None while it is)."""
        self.told: RsdeployError | None = None
        """``lost`` once everything about it is done (events set aside): what the UI says."""
        self.set_aside: Path | None = None
        """The side file this process's unshared events went to when it stopped driving."""
        self.offline: str | None = None
        """Why the store did not answer the last attempt (None when it did)."""
        self.uploaded = 0
        """Events this process put in the store."""
        self.session: Session | None = None
        self._claimed = lease is None or lease.etag is not None
        self._late: Claim | None = None  # the lease as first taken once the store answered
        self._leaving = False  # _stop_driving has started (once, whichever thread sees it)
        self._opened = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self._prev = prev
        self._queue: deque[Event] = deque(pending)
        self._wake = threading.Condition()
        self._stopping = False
        # the lease thread's and the retries' own wake-up: set when stopping, not every append
        self._stopped = threading.Event()
        self._pool: puts.PutPool | None = None
        self._threads = [threading.Thread(target=self._upload_loop, daemon=True,
                                          name=f"shared-upload-{session_id}"),
                         threading.Thread(target=self._lease_loop, daemon=True,
                                          name=f"shared-lease-{session_id}")]

    def start(self) -> None:
        """Start uploading and renewing."""
        for thread in self._threads:
            thread.start()

    def enqueue(self, event: Event) -> None:
        """Queue one event recorded locally (never blocks on the network)."""
        with self._wake:
            self._queue.append(event)
            self._wake.notify_all()

    @property
    def pending(self) -> int:
        """Events recorded locally and not yet in the store."""
        return len(self._queue)

    def status(self) -> str:
        """The header's word on sharing: ``shared``, ``shared: offline — N events not yet
        shared``, or ``shared: read-only — <why>``."""
        if self.lost is not None:
            return f"shared: read-only — {self.lost.title}"
        pending = self.pending
        if self.offline is not None:
            return f"shared: offline — {pending} event{'s' * (pending != 1)} not yet shared"
        if not self._claimed:
            return "shared: claiming the lease"
        return f"shared: {pending} to upload" if pending else "shared"

    def wait_uploaded(self, timeout: float) -> bool:
        """Block until the queue is empty (or lost and done with it: ``told``, or
        ``timeout``); True when empty."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue or self.told is not None,
                                       timeout) and not self._queue

    def stop(self, flush_s: float = 10.0) -> list[str]:
        """Upload what is left (up to ``flush_s``), stop, release the lease when all is shared.

        Returns warnings for the operator (events left unshared, lease kept to protect them).
        """
        warnings: list[str] = []
        # offline, quitting must not wait on a network that is not there
        flushed = self.wait_uploaded(flush_s if self.offline is None else 0.5)
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._stopped.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5.0)
        if self._pool is not None:
            self._pool.close()
        if self.lease is not None and self.lost is None:
            held = self.lease.etag is not None
            if flushed:
                try:
                    self.lease.release()
                except RsdeployError as error:
                    warnings.append(f"{error.title}: {error.message} The lease expires by "
                                    "itself in a minute.")
            else:
                warnings.append(
                    f"{self.pending} events of session {self.session_id} are not in the shared "
                    f"store yet ({self.offline or 'the store did not take them in time'}); they "
                    "are safe in the local journal and go up on the next resume here."
                    + (" The lease was kept so that nobody else writes those numbers." if held
                       else ""))
        return warnings

    # -- threads ---------------------------------------------------------------------------

    def _lose(self, error: RsdeployError, *, told: bool = True) -> None:
        with self._wake:
            if self.lost is None:
                self.lost = error
                session = self.session
                if session is not None:
                    session.read_only = True  # keys grey out; the writer refuses already
            if told:
                self.told = self.lost
            self._wake.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Wait between attempts unless stopping; False once stopping.

        Not woken by new events: while the store does not answer, every ``record`` would
        otherwise start another round of attempts (a window of connections each), and the
        UI's appends would compete with them for the CPU.
        """
        return not self._stopped.wait(seconds)

    def _upload_loop(self) -> None:
        attempt = 0
        while True:
            with self._wake:
                while self._claimed and not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping or self.lost is not None:
                    return
            try:
                if not self._claimed:
                    self._claim_late()
                else:
                    self._upload_window()
            except Unreachable as error:
                self.offline = error.message
                if not self._sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)]):
                    return
                attempt += 1
                continue
            except LeaseLost as error:
                self._stop_driving(error, None)
                return
            except SessionLocked as error:  # the late claim found a live lease elsewhere
                self._stop_driving(RsdeployError(error.title, error.message), error.holder)
                return
            except RsdeployError as error:
                self._lose(error)
                return
            attempt = 0
            self.offline = None

    def _upload_window(self) -> None:
        """Put the next events (up to ``WINDOW`` at once) and take in what became of them."""
        with self._wake:
            batch = list(islice(self._queue, WINDOW))
        if not batch:
            return
        uploads = puts.chain(self.bucket, self.session_id, batch, self._prev,
                             lambda event: event.to_line())
        if len(uploads) == 1:
            results: list[BaseException | None] = [None]
            try:
                puts.put(self.bucket, uploads[0])
            except RsdeployError as error:
                results = [error]
        else:
            if self._pool is None:
                self._pool = puts.PutPool(WINDOW, f"shared-put-{self.session_id}")
            results = self._pool.put_all(self.bucket, uploads)
        # in order: a number is settled only once every one before it is ours in the store
        for upload, result in zip(uploads, results, strict=True):
            if isinstance(result, Precondition):
                puts.settle(self.bucket, self.session_id, upload)
            elif isinstance(result, BaseException):
                raise result  # the rest go again next time (a put that landed: settled then)
            with self._wake:
                if self._queue and self._queue[0].seq == upload.seq:
                    self._queue.popleft()
                self._prev = upload.sha
                if self.lease is not None:  # said in the lease at its next renewal
                    self.lease.committed = max(self.lease.committed, upload.seq)
                self.uploaded += 1
                self._wake.notify_all()

    def _claim_late(self) -> None:
        """Opened while the store did not answer: take the lease now, by the normal rules, and
        compare this copy with the store's journal before anything goes up."""
        assert self.lease is not None
        if self._late is None:  # SessionLocked: a live holder elsewhere
            self._late = self.lease.acquire(take_over=False)
        claim = self._late
        # Unreachable here: the lease is ours (renewed), the comparison waits for the store
        journal = fetch_journal(self.bucket, self.session_id)
        damage = short_of(journal, 1, claim.previous.committed if claim.previous else 0,
                          f"its lease {self.lease.where}")
        if damage is not None:
            raise damage
        session = self.session
        assert session is not None
        mine = session.events
        remote = journal.events
        common = 0
        for event, (_theirs, body) in zip(mine, remote, strict=False):
            if event.to_line() != body:
                break
            common += 1
        if common < len(remote):
            # the store has events this copy lacks: somebody drove meanwhile and let go
            self.lease.release()
            who = claim.previous.as_holder().describe() if claim.previous else "another machine"
            self._stop_driving(RsdeployError(
                "The store moved on meanwhile",
                f"While this process could not reach the shared store, {who} recorded events "
                "in this session; its lease was free once the store answered, but this copy "
                "does not hold those events, so it does not drive the session."), None)
            return
        with self._wake:
            while self._queue and self._queue[0].seq <= len(remote):
                self._queue.popleft()
            self._prev = line_sha(remote[-1][1]) if remote else ""
            self.lease.committed = max(self.lease.committed, len(remote))
            self._claimed = True
            self._wake.notify_all()
        self._record_claim(session, claim)

    def _record_claim(self, session: Session, claim: Claim) -> None:
        """Say in the journal how the lease was taken once the store answered."""
        previous = claim.previous
        if claim.how == "expired" and previous is not None:
            session.record("lock_taken_over", from_pid=previous.pid, from_host=previous.host,
                           from_user=previous.holder, from_since=previous.since,
                           lease="expired", lease_expires=previous.expires,
                           reason=claim.reason, late=True)
        else:
            session.record("lease_claimed", lease=claim.how, opened=self._opened,
                           from_user=previous.holder if previous else None,
                           from_host=previous.host if previous else None)

    def _lease_loop(self) -> None:
        while not self._stopped.wait(RENEW_S):
            if self.lost is not None or self.lease is None:
                return
            if self.lease.etag is None:
                continue  # the upload thread claims it once the store answers
            try:
                self.lease.renew()
            except Unreachable as error:
                self.offline = error.message
            except LeaseLost as error:
                self._stop_driving(error, None)
                return
            except RsdeployError as error:
                self._lose(error)
                return

    def _stop_driving(self, error: RsdeployError, holder: LockHolder | None) -> None:
        """This process is no longer the holder: refuse appends at once, then move this copy's
        events the store lacks to a side file and follow the store read-only."""
        with self._wake:
            if self._leaving or self.lost is not None:
                return  # the other thread is at it, or it is done
            self._leaving = True
        self._lose(error, told=False)
        session = self.session
        try:
            if session is not None:
                with session._recording:  # noqa: SLF001 - an append under way has finished
                    pass
                self.set_aside = self.store.stop_driving(session, holder)
        except RsdeployError as failure:  # the store or the disk: the next open does it
            error = RsdeployError(error.title, f"{error.message} ({failure.message})")
        finally:
            if self.set_aside is not None:
                error = RsdeployError(
                    error.title, f"{error.message} This machine's events that the store lacks "
                    f"were set aside in {self.set_aside}; the session is read-only here until "
                    "you decide what to do with them (`rsdeploy-tui conflicts "
                    f"{self.session_id}`, or resume it).")
            with self._wake:
                self.lost = error
            self._lose(error)
