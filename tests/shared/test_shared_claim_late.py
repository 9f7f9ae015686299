"""A holder that opened while the store was unreachable claims the lease once it answers (#18):
free or released -> taken (recorded); expired -> taken over (recorded, whose it was); live and
somebody else's -> not taken: read-only at once, by whom, its unshared events set aside."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import ReadOnlySession, SessionStore
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.objects import fetch_events
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import StoreUrl
from support.restartable_moto import Restartable

BUCKET = "rsdeploy-shared"  # as in conftest.py


def _wait(condition: Callable[[], object], what: str, bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def _flaky_machine(tmp_path: Path, name: str, store_url: StoreUrl,
                   restartable: Restartable) -> SessionStore:
    """A machine that reaches the store through the restartable endpoint (its network)."""
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    return SessionStore(tmp_path / name / "sessions",
                        shared=SharedStore(store_url, Bucket(store_url, settings)))


def _stored(store_url: StoreUrl, session_id: str) -> list[Event]:
    return [event for event, _body in fetch_events(Bucket(store_url), session_id)]


def _opened_offline(tmp_path: Path, mini: Checklist, store_url: StoreUrl,
                    restartable: Restartable) -> tuple[SessionStore, str]:
    """Machine a started a session (shared, then closed); now its network is down."""
    machine_a = _flaky_machine(tmp_path, "a", store_url, restartable)
    first = machine_a.create(mini, operator="ana")
    first.record("tick", "pre.db-backup")
    assert first.shared.wait_uploaded(60)
    first.close()
    restartable.stop()
    return machine_a, first.id


def test_a_released_lease_is_claimed_once_the_store_answers(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable,
        s3: object) -> None:
    machine_a, session_id = _opened_offline(tmp_path, mini, store_url, restartable)
    a = machine_a.open(session_id, operator="ana")  # offline: works on the local copy
    assert not a.read_only
    assert a.shared.lease.etag is None  # no lease yet: nothing goes up before it is claimed
    a.record("tick", "pre.tests-pass")
    _wait(lambda: a.shared.offline is not None, "machine a notices the store is gone")
    restartable.start()
    assert a.shared.wait_uploaded(120), a.shared.status()
    stored = _stored(store_url, session_id)
    assert [e.kind for e in stored] == ["session_created", "tick", "session_resumed", "tick",
                                        "lease_claimed"]
    claimed = stored[-1]
    assert claimed.data["lease"] == "released" and claimed.data["from_user"] == "ana"
    assert a.shared.uploaded == 3  # the store's own two events were not put again
    lease = json.loads(s3.get_object(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease")["Body"].read())
    assert lease["token"] == a.shared.lease.info.token and not lease["released"]
    assert (a.dir / "events.jsonl").read_bytes() == b"".join(e.to_line() for e in stored)
    a.close()


def test_an_expired_lease_is_taken_over_once_the_store_answers(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable,
        s3: object) -> None:
    machine_a, session_id = _opened_offline(tmp_path, mini, store_url, restartable)
    # meanwhile a holder on another host took it and vanished: its lease ran out
    key = f"team/sessions/{session_id}/lease"
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())  # type: ignore[attr-defined]
    lease.update(holder="cal", host="machine-c", pid=4242, released=False, token="c",
                 expires=(datetime.now(UTC) - timedelta(seconds=5)).isoformat())
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lease).encode())  # type: ignore[attr-defined]
    a = machine_a.open(session_id, operator="ana")
    a.record("tick", "pre.tests-pass")
    restartable.start()
    assert a.shared.wait_uploaded(120), a.shared.status()
    taken = _stored(store_url, session_id)[-1]
    assert taken.kind == "lock_taken_over" and taken.data["lease"] == "expired"
    assert taken.data["late"] is True
    assert (taken.data["from_user"], taken.data["from_host"]) == ("cal", "machine-c")
    assert "expired" in taken.data["reason"]
    assert not a.read_only
    a.close()


def test_a_live_lease_elsewhere_turns_it_read_only_and_keeps_its_events(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable,
        machine: Callable[[str], SessionStore]) -> None:
    machine_a, session_id = _opened_offline(tmp_path, mini, store_url, restartable)
    a = machine_a.open(session_id, operator="ana")
    a.record("tick", "pre.tests-pass")
    a.record("note", "pre.tests-pass", text="ana, offline")
    # machine b (its own network) resumes the session meanwhile and drives it
    b = machine("b").open(session_id, operator="bob")
    b.record("note", "pre.db-backup", text="bob drives")
    assert b.shared.wait_uploaded(60)
    restartable.start()
    _wait(lambda: a.shared.told is not None, "machine a learns bob holds the lease")
    assert a.read_only and "bob" in a.shared.told.message
    assert "read-only" in a.shared.status()
    with pytest.raises(ReadOnlySession):
        a.record("tick", "pre.no-debug")
    # nothing local is lost: its unshared events are in the side file, the journal is the store's
    side = sorted(a.dir.glob("events.jsonl.conflict-*"))
    assert len(side) == 1 and str(side[0]) in a.shared.told.message
    kept = side[0].read_text()
    assert '"pre.tests-pass"' in kept and "ana, offline" in kept
    stored = _stored(store_url, session_id)
    assert (a.dir / "events.jsonl").read_bytes() == b"".join(e.to_line() for e in stored)
    assert [e.kind for e in a.events] == [e.kind for e in stored]
    assert not any(e.operator == "ana" and e.kind == "note" for e in stored)
    # and it follows the store from now on, as any viewer
    b.record("tick", "pre.db-restore-test")
    assert b.shared.wait_uploaded(60)
    assert [e.kind for e in a.refresh()] == ["tick"]
    assert a.holder is not None and a.holder.user == "bob"
    b.close()
    a.close()
    assert json.loads(side[0].read_text().splitlines()[0])["kind"] == "session_resumed"


def test_the_store_moved_on_meanwhile_keeps_both_sides(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable,
        machine: Callable[[str], SessionStore], s3: object) -> None:
    machine_a, session_id = _opened_offline(tmp_path, mini, store_url, restartable)
    a = machine_a.open(session_id, operator="ana")
    a.record("tick", "pre.tests-pass")
    b = machine("b").open(session_id, operator="bob")  # drives, then lets go
    b.record("note", "pre.db-backup", text="bob was here")
    b.close()
    restartable.start()
    _wait(lambda: a.shared.told is not None, "machine a finds the store moved on")
    assert a.read_only and "moved on" in a.shared.told.title
    assert len(list(a.dir.glob("events.jsonl.conflict-*"))) == 1
    lease = json.loads(s3.get_object(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease")["Body"].read())
    assert lease["released"] is True  # a let the lease go again: it does not drive
    assert [e.operator for e in a.events][-2:] == ["bob", "bob"]
    a.close()
