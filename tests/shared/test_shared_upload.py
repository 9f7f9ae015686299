"""Catching up after an offline spell (#18): events go up several at once, and no reader ever
sees them out of order or takes a number still in flight for damage; a holder cut off mid-upload
leaves objects past a missing number, which the next holder writes over (keeping them)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.objects import (
    WINDOW,
    SharedJournalDamaged,
    event_body,
    event_key,
    fetch_events,
    fetch_journal,
)
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import StoreUrl
from support.restartable_moto import Restartable

BUCKET = "rsdeploy-shared"  # as in conftest.py
Machine = Callable[[str], SessionStore]


class InFlight:
    """Counts the event puts under way at once, around the real bucket's own call (a spy: every
    put still goes to moto)."""

    def __init__(self, bucket: Bucket) -> None:
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()
        real = bucket.put_new

        def counted(key: str, *args: object, **kwargs: object) -> str:
            with self._lock:
                self._now += 1
                self.most = max(self.most, self._now)
            try:
                return real(key, *args, **kwargs)  # type: ignore[arg-type]
            finally:
                with self._lock:
                    self._now -= 1

        bucket.put_new = counted  # type: ignore[method-assign]


def test_a_catch_up_goes_up_several_at_once_and_readers_never_see_disorder(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable) -> None:
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    bucket = Bucket(store_url, settings)
    a = SessionStore(tmp_path / "a" / "sessions",
                     shared=SharedStore(store_url, bucket)).create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    restartable.stop()
    for n in range(240):
        a.record("note", "pre.db-backup", text=f"offline {n}")
    spy = InFlight(bucket)
    # a reader on another machine polls the store all along, as a viewer does
    seen: list[list[int]] = []
    problems: list[str] = []
    stop = threading.Event()
    reader = Bucket(store_url)

    def poll() -> None:
        while not stop.is_set():
            try:
                journal = fetch_journal(reader, a.id)
                seen.append([e.seq for e, _body in journal.events])
            except SharedJournalDamaged as error:
                problems.append(error.message)
            time.sleep(0.01)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    restartable.start()
    try:
        assert a.shared.wait_uploaded(300), a.shared.status()
    finally:
        stop.set()
        watcher.join(30)
    assert 1 < spy.most <= WINDOW  # several at once, never more than the window
    assert not problems  # a number in flight is never taken for damage
    final = [e for e, _b in fetch_events(reader, a.id)]
    assert [e.seq for e in final] == list(range(1, 242))
    assert b"".join(e.to_line() for e in final) == (a.dir / "events.jsonl").read_bytes()
    # every look was the journal's first events, in order: never a later one before an earlier
    assert len(seen) > 3 and all(look == list(range(1, len(look) + 1)) for look in seen)
    a.close()


def _plant(s3: object, store_url: StoreUrl, session_id: str, events: list[Event],
           prev: str) -> None:
    """Objects as a holder cut off mid-upload left them (each naming the one before)."""
    for event in events:
        body, metadata = event_body(event, prev)
        s3.put_object(Bucket=BUCKET, Key=event_key(store_url, session_id, event.seq),  # type: ignore[attr-defined]
                      Body=body, Metadata=metadata)
        prev = hashlib.sha256(body).hexdigest()


def _lease(s3: object, session_id: str) -> dict[str, object]:
    return json.loads(s3.get_object(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease")["Body"].read())


def _put_lease(s3: object, session_id: str, lease: dict[str, object]) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease",  # type: ignore[attr-defined]
                  Body=json.dumps(lease).encode())


def _cut_off(machine: Machine, mini: Checklist, store_url: StoreUrl,
             s3: object) -> tuple[str, list[Event]]:
    """Machine a put events 1-3, then its events 5-8 landed and 4 never did (it died)."""
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    a.record("note", "pre.db-backup", text="dump taken")
    assert a.shared.wait_uploaded(60)
    a.shared.lease.etag = None  # machine a dies: its lease stays as it was
    a.close()
    lost = [Event(n, "note", f"2026-11-26T02:3{n}:00.000Z", "ana", "machine-a",
                  "pre.db-backup", {"text": f"cut off {n}"}) for n in range(4, 9)]
    _plant(s3, store_url, a.id, lost[1:], hashlib.sha256(event_body(lost[0])[0]).hexdigest())
    return a.id, lost


def test_a_viewer_waits_for_a_number_in_flight_and_then_shows_the_rest(
        machine: Machine, mini: Checklist, store_url: StoreUrl, s3: object) -> None:
    session_id, lost = _cut_off(machine, mini, store_url, s3)
    lease = _lease(s3, session_id)
    lease.update(released=False, committed=3,
                 expires=(datetime.now(UTC) + timedelta(seconds=60)).isoformat())
    _put_lease(s3, session_id, lease)  # the holder is live and uploading: 4 is in flight
    viewer = machine("b").open(session_id, read_only=True)
    assert [e.seq for e in viewer.events] == [1, 2, 3]  # not past the missing number
    assert viewer.refresh() == []  # "not yet", never damage
    _plant(s3, store_url, session_id, lost[:1],
           hashlib.sha256(viewer.events[-1].to_line()).hexdigest())  # 4 lands
    assert [e.seq for e in viewer.refresh()] == [4, 5, 6, 7, 8]
    assert [e.data["text"] for e in viewer.events[3:]] == [f"cut off {n}" for n in range(4, 9)]


def test_a_missing_number_below_what_the_holder_had_put_is_damage(
        machine: Machine, mini: Checklist, store_url: StoreUrl, s3: object) -> None:
    session_id, _lost = _cut_off(machine, mini, store_url, s3)
    lease = _lease(s3, session_id)
    lease.update(committed=8)  # the holder said 1-8 were in the store: 4 was removed since
    _put_lease(s3, session_id, lease)
    with pytest.raises(SharedJournalDamaged) as damaged:
        machine("b").open(session_id, read_only=True)
    assert "events/0000000005" in damaged.value.message and "missing" in damaged.value.message
    assert "1-8" in damaged.value.message


def test_the_next_holder_writes_over_a_cut_off_holders_leftovers_and_keeps_them(
        machine: Machine, mini: Checklist, store_url: StoreUrl, s3: object) -> None:
    session_id, lost = _cut_off(machine, mini, store_url, s3)
    lease = _lease(s3, session_id)
    lease.update(released=False, committed=3, host="machine-a",
                 expires=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())
    _put_lease(s3, session_id, lease)  # machine a's lease ran out
    b = machine("b").open(session_id, operator="bob")
    assert [e.seq for e in b.events][:3] == [1, 2, 3]
    assert b.events[3].kind == "lock_taken_over" and b.events[3].data["lease"] == "expired"
    assert any("events/0000000005" in w and "not part of the journal" in w for w in b.warnings)
    for n in range(3):
        b.record("tick", "pre.tests-pass" if n % 2 == 0 else "pre.no-debug")
    assert b.shared.wait_uploaded(60)
    b.close()
    journal = fetch_journal(Bucket(store_url), session_id)  # checked, chained from event 1
    stored = [e for e, _body in journal.events]
    assert [e.seq for e in stored] == list(range(1, 8))
    assert not any(e.data.get("text", "").startswith("cut off") for e in stored)
    assert b"".join(e.to_line() for e in stored) == (b.dir / "events.jsonl").read_bytes()
    # machine a's leftovers it wrote over are kept in the store, byte for byte
    listed = s3.list_objects_v2(Bucket=BUCKET,  # type: ignore[attr-defined]
                                Prefix=f"team/sessions/{session_id}/orphans/")
    kept = {entry["Key"].rsplit("/", 1)[1][:10]: s3.get_object(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=entry["Key"])["Body"].read() for entry in listed.get("Contents", ())}
    assert sorted(kept) == [f"{n:010d}" for n in (5, 6, 7)]
    for n in (5, 6, 7):
        assert json.loads(kept[f"{n:010d}"])["data"]["text"] == f"cut off {n}"
    # the one it has not reached yet is still there, past the journal's end
    assert journal.tail is not None and journal.tail.first == 8 and journal.tail.objects == 1
    assert lost[-1].seq == 8
