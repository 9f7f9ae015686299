"""A session's objects in the shared store: one per event, and how they are read back.

``<prefix>/sessions/<id>/events/<seq:010d>`` holds the event's journal line, byte for byte
(redacted as it was before it reached the local journal: the store holds nothing the local
journal does not), with its SHA-256 in the object's metadata as well as S3's own checksum. On
the way back every object is checked: its SHA-256, its line's CRC and types, and that its number
is the next one. A mismatch is an error naming the key, never skipped.

Each object's metadata also names the SHA-256 of the event before it (``prev``): the journal is
the chain of objects from number 1 that each follow the one before. A holder puts up to
``WINDOW`` events at once, so for a moment a number may be missing while later ones are there;
and a writer that lost a number to another may leave objects after it that follow its own
event, not the store's. Both lie past the journal's end (``Tail``): never read as part of it,
never taken for damage past what the holder had put when it last wrote its lease (its
``committed``): a missing number below that is damage naming the key, as is an object further
out than any upload in flight goes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import Event, EventDamaged, EventFormatError, parse_line
from rsdeploy_tui.session.shared.bucket import Bucket, Missing
from rsdeploy_tui.session.shared.url import StoreUrl

SHA_META = "sha256"
_NUMBER = re.compile(r"^\d{10}$")


class SharedJournalDamaged(RsdeployError):
    """An event object in the store is not what was written (checksum, gap, contents)."""


def sessions_prefix(url: StoreUrl) -> str:
    """The key prefix under which every session's folder lives (ends with ``/``)."""
    return url.key("sessions") + "/"


def events_prefix(url: StoreUrl, session_id: str) -> str:
    """The key prefix of a session's event objects (ends with ``/``)."""
    return url.key("sessions", session_id, "events") + "/"


def event_key(url: StoreUrl, session_id: str, seq: int) -> str:
    """The key of event number ``seq``."""
    return url.key("sessions", session_id, "events", f"{seq:010d}")


def lease_key(url: StoreUrl, session_id: str) -> str:
    """The key of a session's lease."""
    return url.key("sessions", session_id, "lease")


PREV_META = "prev"
"""Metadata naming the SHA-256 (hex) of the event before it: the chain that tells the journal
from a loser's leftovers (an event written after another writer took the number before it)."""

WINDOW = 16
"""Events a writer has in flight at once (``uploader``): it puts event ``k + WINDOW`` only once
``k`` is in the store, so objects past a missing number are at most this far past it."""

TAIL_BOUND = 2 * WINDOW
"""Objects further than this past the journal's end cannot be an upload in flight nor the
leftovers of one: the store was tampered with."""


@datarecord(frozen=True)
class Tail:
    """Objects after the end of the journal: a missing number followed by present ones, or an
    object that does not follow the one before it."""

    first: int
    """The first number not in the journal."""
    reason: str
    """A sentence naming the key."""
    objects: int
    """Objects present from ``first`` on."""


@datarecord(frozen=True)
class SharedJournal:
    """What the store holds of a session: its journal (checked, in order) and any tail."""

    events: list[tuple[Event, bytes]]
    tail: Tail | None


def event_body(event: Event, prev: str = "") -> tuple[bytes, dict[str, str]]:
    """The object body (the journal line) and metadata (its SHA-256, the previous event's)."""
    line = event.to_line()
    metadata = {SHA_META: hashlib.sha256(line).hexdigest()}
    if prev:  # the first event follows nothing
        metadata[PREV_META] = prev
    return line, metadata


def line_sha(line: bytes) -> str:
    """The SHA-256 (hex) of a journal line, as ``PREV_META`` names it."""
    return hashlib.sha256(line).hexdigest()


def read_event(bucket: Bucket, session_id: str, seq: int) -> tuple[Event, bytes]:
    """Event ``seq`` from the store, checked; ``Missing`` when it is not there."""
    key = event_key(bucket.url, session_id, seq)
    body, _etag, metadata = bucket.get(key)
    return check_object(bucket, key, seq, body, metadata), body


def _read_checked(bucket: Bucket, session_id: str,
                  seq: int) -> tuple[Event, bytes, dict[str, str]]:
    key = event_key(bucket.url, session_id, seq)
    try:
        body, _etag, metadata = bucket.get(key)
    except Missing:
        raise SharedJournalDamaged(
            "Shared journal damaged",
            f"s3://{bucket.url.bucket}/{key} was listed but could not be read.") from None
    return check_object(bucket, key, seq, body, metadata), body, metadata


def check_object(bucket: Bucket, key: str, seq: int, body: bytes,
                 metadata: dict[str, str]) -> Event:
    """The event an object holds, after checking its SHA-256, its line and its number."""
    where = f"s3://{bucket.url.bucket}/{key}"
    expected = metadata.get(SHA_META, "")
    actual = hashlib.sha256(body).hexdigest()
    if expected != actual:
        raise SharedJournalDamaged(
            "Shared journal damaged",
            f"{where}: its SHA-256 is {actual[:16]}…, not the {expected[:16] or '(none)'}… "
            "recorded when it was written: the object was changed or corrupted in the store. "
            "Nothing was taken from it; the session's other copies are untouched.")
    try:
        event = parse_line(body.rstrip(b"\n"), require_crc=True)
    except (EventDamaged, EventFormatError) as error:
        raise SharedJournalDamaged("Shared journal damaged",
                                   f"{where} is not a valid event ({error}).") from None
    if event.seq != seq:
        raise SharedJournalDamaged(
            "Shared journal damaged",
            f"{where} holds event number {event.seq} where {seq} was expected.")
    return event


def fetch_journal(bucket: Bucket, session_id: str, start: int = 1,
                  prev: str | None = None) -> SharedJournal:
    """A session's journal in the store from number ``start`` on, checked, in order, and what
    lies past its end.

    The journal ends before the first missing number and before the first object that does not
    follow its predecessor (its ``prev`` names another event: a writer that lost the number
    before it). Past that end there may be uploads in flight (the holder puts ``WINDOW`` at
    once) or the leftovers of a holder cut off mid-upload: the ``tail``; the caller knows from
    the lease which it is. ``prev``: the SHA-256 of event ``start - 1`` when the caller has it.

    Raises:
        SharedJournalDamaged: a checksum mismatch, a bad line, a wrong number, or objects too
            far past the journal's end to be an upload in flight (the key is named).
        Unreachable, RsdeployError: the store cannot be read.
    """
    prefix = events_prefix(bucket.url, session_id)
    # a viewer asks every second: list only the keys after the ones it has
    after = event_key(bucket.url, session_id, start - 1) if start > 1 else ""
    numbers = sorted(int(k[len(prefix):]) for k in bucket.keys(prefix, after)
                     if _NUMBER.match(k[len(prefix):]))
    numbers = [n for n in numbers if n >= start]
    contiguous = 0
    for expected, number in enumerate(numbers, start=start):
        if number != expected:
            break
        contiguous += 1
    found: list[tuple[Event, bytes]] = []
    tail: Tail | None = None
    last = prev if prev is not None or start > 1 else ""
    for event, body, metadata in _read_all(bucket, session_id, numbers[:contiguous]):
        named = metadata.get(PREV_META)
        if named is not None and last is not None and named != last:
            key = event_key(bucket.url, session_id, event.seq)
            tail = Tail(event.seq, f"s3://{bucket.url.bucket}/{key} does not follow event "
                        f"{event.seq - 1} (it was written after another writer's event "
                        f"{event.seq - 1})", len(numbers) - len(found))
            break
        found.append((event, body))
        last = line_sha(body)
    if tail is None and contiguous < len(numbers):
        missing = start + contiguous
        key = event_key(bucket.url, session_id, numbers[contiguous])
        tail = Tail(missing, f"s3://{bucket.url.bucket}/{key} follows event {missing - 1}: "
                    f"event {missing} is missing from the store (a gap)",
                    len(numbers) - contiguous)
    if tail is not None and numbers and numbers[-1] >= tail.first + TAIL_BOUND:
        key = event_key(bucket.url, session_id, numbers[-1])
        raise SharedJournalDamaged(
            "Shared journal damaged",
            f"{tail.reason}; s3://{bucket.url.bucket}/{key} is {numbers[-1] - tail.first + 1} "
            f"numbers past it, further than any upload in flight goes ({WINDOW}). Nothing "
            "after the gap was taken.")
    return SharedJournal(found, tail)


def fetch_events(bucket: Bucket, session_id: str, start: int = 1) -> list[tuple[Event, bytes]]:
    """Every event of a session from number ``start`` on, checked, in order; nothing may lie
    past the journal's end (a settled session, or a check that wants it whole).

    Raises:
        SharedJournalDamaged: as ``fetch_journal``, and for any tail (a gap, an event that does
            not follow its predecessor: the key is named).
        Unreachable, RsdeployError: the store cannot be read.
    """
    journal = fetch_journal(bucket, session_id, start)
    if journal.tail is not None:
        raise tail_damage(journal.tail)
    return journal.events


def tail_damage(tail: Tail) -> SharedJournalDamaged:
    """The error for a tail that no upload in flight explains."""
    return SharedJournalDamaged("Shared journal damaged",
                                f"{tail.reason}. Nothing after it was taken.")


def short_of(journal: SharedJournal, start: int, committed: int,
             lease: str) -> SharedJournalDamaged | None:
    """Damage when the journal read from ``start`` ends before event ``committed``, which its
    holder had put (``Lease.committed``, named by ``lease``): a missing or replaced object
    within what was settled, not an upload in flight. None when it reaches that far."""
    have = start - 1 + len(journal.events)
    if have >= committed:
        return None
    why = journal.tail.reason if journal.tail is not None else (
        f"the store lists events only up to {have}")
    return SharedJournalDamaged(
        "Shared journal damaged",
        f"{why}, though its holder had put events 1-{committed} ({lease}). Nothing after "
        f"event {have} was taken.")


PARALLEL_READS = 16
"""Objects read at once when there are many (a resume elsewhere reads the whole journal)."""


def _read_all(bucket: Bucket, session_id: str,
              numbers: list[int]) -> Iterator[tuple[Event, bytes, dict[str, str]]]:
    """The objects of ``numbers``, checked, in order: several at once when there are many."""
    if len(numbers) <= 2:
        for number in numbers:
            yield _read_checked(bucket, session_id, number)
        return
    from concurrent.futures import ThreadPoolExecutor

    # threads only for the reading: boto3 clients are thread-safe, the waits are the network's
    with ThreadPoolExecutor(min(PARALLEL_READS, len(numbers)),
                            thread_name_prefix=f"shared-read-{session_id}") as pool:
        yield from pool.map(lambda n: _read_checked(bucket, session_id, n), numbers)
