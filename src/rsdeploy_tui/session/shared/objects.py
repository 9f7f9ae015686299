"""A session's objects in the shared store: one per event, and how they are read back.

``<prefix>/sessions/<id>/events/<seq:010d>`` holds the event's journal line, byte for byte
(redacted as it was before it reached the local journal: the store holds nothing the local
journal does not), with its SHA-256 in the object's metadata as well as S3's own checksum. On
the way back every object is checked: its SHA-256, its line's CRC and types, and that its number
is the next one. A mismatch or a gap is an error naming the key, never skipped.
"""

from __future__ import annotations

import hashlib
import re

from rsdeploy_tui.errors import RsdeployError
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


def event_body(event: Event) -> tuple[bytes, dict[str, str]]:
    """The object body (the journal line) and metadata (its SHA-256) for ``event``."""
    line = event.to_line()
    return line, {SHA_META: hashlib.sha256(line).hexdigest()}


def read_event(bucket: Bucket, session_id: str, seq: int) -> tuple[Event, bytes]:
    """Event ``seq`` from the store, checked; ``Missing`` when it is not there."""
    key = event_key(bucket.url, session_id, seq)
    body, _etag, metadata = bucket.get(key)
    return check_object(bucket, key, seq, body, metadata), body


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


def fetch_events(bucket: Bucket, session_id: str, start: int = 1) -> list[tuple[Event, bytes]]:
    """Every event of a session from number ``start`` on, checked, in order.

    Raises:
        SharedJournalDamaged: a checksum mismatch, a bad line, or a gap in the numbers (the key
            after the gap is named).
        Unreachable, RsdeployError: the store cannot be read.
    """
    prefix = events_prefix(bucket.url, session_id)
    # a viewer asks every second: list only the keys after the ones it has
    after = event_key(bucket.url, session_id, start - 1) if start > 1 else ""
    numbers = sorted(int(k[len(prefix):]) for k in bucket.keys(prefix, after)
                     if _NUMBER.match(k[len(prefix):]))
    numbers = [n for n in numbers if n >= start]
    found: list[tuple[Event, bytes]] = []
    for expected, number in enumerate(numbers, start=start):
        if number != expected:
            raise SharedJournalDamaged(
                "Shared journal damaged",
                f"s3://{bucket.url.bucket}/{event_key(bucket.url, session_id, number)} follows "
                f"event {expected - 1}: event {expected} is missing from the store (a gap). "
                "Nothing after the gap was taken.")
        try:
            found.append(read_event(bucket, session_id, number))
        except Missing:
            raise SharedJournalDamaged(
                "Shared journal damaged",
                f"s3://{bucket.url.bucket}/{event_key(bucket.url, session_id, number)} was "
                "listed but could not be read.") from None
    return found
