"""Putting event objects: several at once, each only if absent, and what a refusal means.

A holder puts up to ``objects.WINDOW`` events at once (one object each, ``If-None-Match: *``)
and takes the next window only once every event of this one is in the store, so a reader never
finds an object more than a window past a missing number (``objects.fetch_journal``). Each
object names the SHA-256 of the event before it (``prev``): a refusal (412) is then read as one
of three things (``settle``): our own earlier attempt (the same bytes: its answer was lost), a
leftover of a writer that lost the number before it (its ``prev`` is not the store's event
before: it can never be part of the journal, so it is kept under ``orphans/`` and replaced, by
``If-Match`` on its ETag), or another writer's event that follows the same one as ours: that
writer owns the number, and this process stops writing as the holder.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.shared.bucket import Bucket, Missing, Precondition
from rsdeploy_tui.session.shared.lease import LeaseLost
from rsdeploy_tui.session.shared.objects import PREV_META, SHA_META, event_key

if TYPE_CHECKING:
    from rsdeploy_tui.session.events import Event

SETTLE_TURNS = 5
"""Looks at one refused number before giving up (each turn lost a race with another writer)."""


@datarecord(frozen=True)
class EventUpload:
    """One event's object, ready to put: its body, checksums and the event it follows."""

    seq: int
    kind: str
    key: str
    body: bytes
    sha: str
    """SHA-256 of the body, hex (the ``sha256`` metadata; the next event's ``prev``)."""
    checksum: str
    """The same digest as S3's ``ChecksumSHA256`` (base64): computed once, here."""
    prev: str
    """SHA-256 (hex) of the event before it ("" for the first)."""

    @property
    def metadata(self) -> dict[str, str]:
        """The object's metadata: its own SHA-256 and the one of the event it follows."""
        return {SHA_META: self.sha, PREV_META: self.prev} if self.prev else {SHA_META: self.sha}


def chain(bucket: Bucket, session_id: str, events: Sequence[Event], prev: str,
          lines: Callable[[Event], bytes]) -> list[EventUpload]:
    """The uploads of ``events`` (in order), each following the one before, the first ``prev``."""
    uploads = []
    for event in events:
        body = lines(event)
        digest = hashlib.sha256(body).digest()
        upload = EventUpload(event.seq, event.kind, event_key(bucket.url, session_id, event.seq),
                             body, digest.hex(), base64.b64encode(digest).decode("ascii"), prev)
        uploads.append(upload)
        prev = upload.sha
    return uploads


def put(bucket: Bucket, upload: EventUpload) -> None:
    """Put one event's object if absent (``Precondition`` when the number is taken)."""
    bucket.put_new(upload.key, upload.body, upload.metadata, checksum=upload.checksum)


def settle(bucket: Bucket, session_id: str, upload: EventUpload) -> None:
    """After a refused put of ``upload`` (every event before it being in the store as ours):
    return when the number is ours now, raise ``LeaseLost`` when another writer owns it.

    Raises:
        LeaseLost: another writer's event holds the number and follows the same event as ours.
        Unreachable, RsdeployError: the store cannot be used.
    """
    where = f"s3://{bucket.url.bucket}/{upload.key}"
    for _ in range(SETTLE_TURNS):
        try:
            theirs, etag, metadata = bucket.get(upload.key)
        except Missing:
            try:  # removed since the refusal (a replacement in flight elsewhere): try again
                put(bucket, upload)
                return
            except Precondition:
                continue
        if theirs == upload.body:
            return  # our own earlier attempt landed; its answer was lost
        follows = metadata.get(PREV_META)
        if follows is None or follows == upload.prev:
            raise LeaseLost(
                "Another writer owns this event number",
                f"Event {upload.seq} ('{upload.kind}') of session {session_id} was not shared: "
                f"{where} already holds another machine's event. This process stopped writing "
                "as the holder and the session is read-only here; nothing it recorded is "
                "lost.")
        # a leftover of a writer that lost the number before: kept, then replaced
        keep = f"{bucket.url.key('sessions', session_id, 'orphans')}/{upload.seq:010d}-" \
               f"{hashlib.sha256(theirs).hexdigest()[:16]}"
        with contextlib.suppress(Precondition):  # kept already (by us, or another replacer)
            bucket.put_new(keep, theirs, metadata)
        try:
            bucket.put_if_match(upload.key, upload.body, etag, upload.metadata,
                                checksum=upload.checksum)
            return
        except (Precondition, Missing):
            continue  # changed meanwhile: look again
    raise RsdeployError("Shared store contended", f"{where} kept changing while this process "
                        "tried to write it; its event stays in the local journal.")


class PutPool:
    """A few daemon threads putting objects for one session.

    Daemon threads (unlike ``concurrent.futures``'), so a dead network never holds up the
    process's exit: what was not put is in the local journal, and goes up on the next resume.
    """

    def __init__(self, size: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"{name}-{n}")
                         for n in range(size)]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def put_all(self, bucket: Bucket, uploads: Sequence[EventUpload]
                ) -> list[BaseException | None]:
        """Put every upload at once; each one's failure (None: put), in order."""
        results: list[BaseException | None] = [None] * len(uploads)
        left = [len(uploads)]
        done = threading.Condition()

        def job(index: int) -> Callable[[], None]:
            def run() -> None:
                try:
                    put(bucket, uploads[index])
                except BaseException as error:  # noqa: BLE001 - handed back to the caller
                    results[index] = error
                with done:
                    left[0] -= 1
                    done.notify_all()
            return run

        for index in range(len(uploads)):
            self._jobs.put(job(index))
        with done:
            done.wait_for(lambda: left[0] == 0)
        return results

    def close(self) -> None:
        """Let the threads end (after any put in progress)."""
        for _ in self._threads:
            self._jobs.put(None)
