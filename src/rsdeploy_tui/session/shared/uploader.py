"""Background upload of a held session's events, one object per event, in order.

``Session.record`` appends and fsyncs locally; the journal writer given to the session is a
``SharedWriter``, which hands each appended event to the uploader's queue and returns: the UI
never waits for the network. One thread puts ``events/<seq>`` with ``If-None-Match: *``; a 412
whose object is not this event means another writer owns that number: this process stops
writing as the holder (the next ``record`` is refused, the session turns read-only) and nothing
is overwritten. While the store does not answer, events wait (in the local journal, and in the
queue) and go up in order once it does. A second thread renews the lease.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session.journal import JournalConflict, JournalWriter
from rsdeploy_tui.session.shared.bucket import Bucket, Missing, Precondition, Unreachable
from rsdeploy_tui.session.shared.lease import RENEW_S, Lease, LeaseLost
from rsdeploy_tui.session.shared.objects import event_body, event_key

if TYPE_CHECKING:
    from rsdeploy_tui.session.events import Event
    from rsdeploy_tui.session.session import Session

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
        lost = self._sync.lost
        if lost is not None:
            raise JournalConflict(lost.title, f"{lost.message} '{event.kind}' was not recorded.")
        self._local.append(event)
        self._sync.enqueue(event)

    def close(self) -> None:
        """Close the local journal (the uploader goes on until ``SharedSync.stop``)."""
        self._local.close()


class SharedSync:
    """Uploads one held session's events and renews its lease, in two daemon threads."""

    def __init__(self, bucket: Bucket, session_id: str, lease: Lease | None,
                 pending: list[Event], take_over: bool = False) -> None:
        self.bucket = bucket
        self.session_id = session_id
        self.lease = lease
        self.lost: RsdeployError | None = None
        """Why this process stopped being the holder (None while it is)."""
        self.offline: str | None = None
        """Why the store did not answer the last attempt (None when it did)."""
        self.uploaded = 0
        """Events this process put in the store."""
        self.session: Session | None = None
        self._take_over = take_over
        self._queue: deque[Event] = deque(pending)
        self._wake = threading.Condition()
        self._stopping = False
        self._stopped = threading.Event()  # the lease thread's own wake-up: not every append
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
        return f"shared: {pending} to upload" if pending else "shared"

    def wait_uploaded(self, timeout: float) -> bool:
        """Block until the queue is empty (or lost, or ``timeout``); True when empty."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue or self.lost is not None,
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
        if self.lease is not None and self.lost is None:
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
                    "are safe in the local journal and go up on the next resume here. The lease "
                    "was kept so that nobody else writes those numbers.")
        return warnings

    # -- threads ---------------------------------------------------------------------------

    def _lose(self, error: RsdeployError) -> None:
        with self._wake:
            if self.lost is None:
                self.lost = error
                session = self.session
                if session is not None:
                    session.read_only = True  # keys grey out; the writer refuses already
            self._wake.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Wait unless stopping; False once stopping."""
        with self._wake:
            if self._stopping:
                return False
            self._wake.wait(seconds)
            return not self._stopping

    def _upload_loop(self) -> None:
        attempt = 0
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping or self.lost is not None:
                    return
                event = self._queue[0]
            try:
                self._upload(event)
            except Unreachable as error:
                self.offline = error.message
                if not self._sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)]):
                    return
                attempt += 1
                continue
            except RsdeployError as error:
                self._lose(error)
                return
            attempt = 0
            self.offline = None
            with self._wake:
                self._queue.popleft()
                self.uploaded += 1
                self._wake.notify_all()

    def _upload(self, event: Event) -> None:
        key = event_key(self.bucket.url, self.session_id, event.seq)
        body, metadata = event_body(event)
        try:
            self.bucket.put_new(key, body, metadata)
            return
        except Precondition:
            pass
        try:
            theirs, _etag, _meta = self.bucket.get(key)
        except Missing:
            raise RsdeployError("Shared store inconsistent",
                                f"s3://{self.bucket.url.bucket}/{key} was refused as existing "
                                "but cannot be read.") from None
        if theirs == body:
            return  # our own earlier attempt landed; its answer was lost
        raise LeaseLost(
            "Another writer owns this event number",
            f"Event {event.seq} ('{event.kind}') of session {self.session_id} was not shared: "
            f"s3://{self.bucket.url.bucket}/{key} already holds another machine's event. This "
            "process stopped writing as the holder and the session is read-only here; its "
            "unshared events stay in the local journal.")

    def _lease_loop(self) -> None:
        attempt = 0
        while not self._stopped.wait(RENEW_S if self.lease is not None and self.lease.etag
                                     else RETRY_S[min(attempt, len(RETRY_S) - 1)]):
            if self.lost is not None or self.lease is None:
                return
            try:
                if self.lease.etag is None:
                    self.lease.acquire(take_over=False)  # started offline: claim it now
                else:
                    self.lease.renew()
                attempt = 0
            except Unreachable as error:
                self.offline = error.message
                attempt += 1
            except RsdeployError as error:  # LeaseLost, SessionLocked, refused
                self._lose(error)
                return
