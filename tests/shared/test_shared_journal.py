"""Shared sessions on S3 (#18): one object per event, resume elsewhere, lease rules, trust."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import ReadOnlySession, SessionLocked, SessionStore
from rsdeploy_tui.session.journal import read_journal
from rsdeploy_tui.session.shared.lease import LeaseLost
from rsdeploy_tui.session.shared.objects import SharedJournalDamaged
from rsdeploy_tui.session.shared.url import StoreUrlError, check_endpoint, parse_store_url

BUCKET = "rsdeploy-shared"  # as in conftest.py

Machine = Callable[[str], SessionStore]


def _objects(s3: object, session_id: str) -> dict[str, bytes]:
    prefix = f"team/sessions/{session_id}/events/"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)  # type: ignore[attr-defined]
    return {entry["Key"][len(prefix):]: s3.get_object(  # type: ignore[attr-defined]
        Bucket=BUCKET, Key=entry["Key"])["Body"].read() for entry in listed.get("Contents", ())}


def _lease(s3: object, session_id: str) -> dict[str, object]:
    body = s3.get_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                         Key=f"team/sessions/{session_id}/lease")["Body"].read()
    return json.loads(body)


def test_every_event_goes_up_as_its_own_object(machine: Machine, mini: Checklist,
                                                s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    a.record("note", "pre.db-backup", text="dump is 2.1 GB")
    assert a.shared.wait_uploaded(60)
    lines = (a.dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    objects = _objects(s3, a.id)
    assert sorted(objects) == [f"{n:010d}" for n in range(1, len(lines) + 1)]
    assert [objects[k] for k in sorted(objects)] == lines  # byte for byte the local journal
    head = s3.head_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                          Key=f"team/sessions/{a.id}/events/0000000002")
    assert head["Metadata"]["sha256"] == hashlib.sha256(lines[1]).hexdigest()
    assert _lease(s3, a.id)["holder"] == "ana" and not _lease(s3, a.id)["released"]
    a.close()
    assert _lease(s3, a.id)["released"] is True


def test_resume_on_another_machine_rebuilds_the_journal_and_goes_on(
        machine: Machine, mini: Checklist, s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    session_id = a.id
    a.close()
    b = machine("b").open(session_id, operator="bob")
    assert b.dir != a.dir and b.dir.is_dir()
    assert [e.kind for e in b.events] == ["session_created", "tick", "session_resumed"]
    assert b.state(mini).items["pre.db-backup"].state == "done"
    b.record("tick", "pre.db-restore-test")
    assert b.shared.wait_uploaded(60)
    b.close()
    objects = _objects(s3, session_id)
    local_b = (b.dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    assert [objects[k] for k in sorted(objects)] == local_b  # one journal, every event of both
    # back on the first machine: its copy is extended with bob's events
    again = machine("a").open(session_id, operator="ana")
    assert [e.kind for e in again.events][:5] == [
        "session_created", "tick", "session_resumed", "tick", "session_resumed"]
    assert again.events[3].operator == "bob"
    again.close()


def test_a_live_lease_is_taken_only_with_take_over_and_the_old_holder_turns_read_only(
        machine: Machine, mini: Checklist) -> None:
    a = machine("a").create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    with pytest.raises(SessionLocked) as refused:
        machine("b").open(a.id, operator="bob")
    assert refused.value.holder is not None and refused.value.holder.user == "ana"
    assert "--take-over" in refused.value.message
    b = machine("b").open(a.id, operator="bob", take_over=True)
    taken = b.events[-1]
    assert taken.kind == "lock_taken_over" and taken.data["lease"] == "taken_over"
    assert taken.data["from_user"] == "ana" and taken.data["from_host"] == a.host
    assert b.shared.wait_uploaded(60)
    # the old holder: its lease is gone, it says by whom
    with pytest.raises(LeaseLost) as lost:
        a.shared.lease.renew()
    assert "bob" in lost.value.message
    # and its next event cannot take a number the new holder owns
    try:
        a.record("tick", "pre.db-backup")
    except ReadOnlySession:
        pass
    assert not a.shared.wait_uploaded(60) or a.shared.lost is not None
    assert a.shared.lost is not None and a.read_only
    with pytest.raises(ReadOnlySession):
        a.record("tick", "pre.tests-pass")
    b.record("tick", "pre.tests-pass")
    assert b.shared.wait_uploaded(60)
    b.close()
    a.close()
    view = machine("c").open(b.id, read_only=True)
    kinds = [(e.kind, e.operator) for e in view.events]
    assert kinds[-1] == ("tick", "bob")
    assert ("tick", "ana") not in kinds  # ana's refused tick never reached the shared journal
    assert [e.seq for e in view.events] == list(range(1, len(view.events) + 1))


def test_an_expired_lease_is_taken_with_a_record_saying_so(
        machine: Machine, mini: Checklist, s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    session_id = a.id
    # the holder's machine dies: its lease is never renewed nor released
    a.shared.lease.etag = None
    a.close()
    lease = _lease(s3, session_id)
    lease.update(released=False,
                 expires=(datetime.now(UTC) - timedelta(seconds=5)).isoformat())
    s3.put_object(Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease",  # type: ignore[attr-defined]
                  Body=json.dumps(lease).encode())
    b = machine("b").open(session_id, operator="bob")  # no --take-over needed
    taken = b.events[-1]
    assert taken.kind == "lock_taken_over" and taken.data["lease"] == "expired"
    assert taken.data["from_user"] == "ana"
    b.close()


def test_a_flipped_byte_in_an_event_object_is_reported_with_its_key(
        machine: Machine, mini: Checklist, s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    session_id = a.id
    a.close()
    key = f"team/sessions/{session_id}/events/0000000002"
    stored = s3.get_object(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
    body = bytearray(stored["Body"].read())
    at = bytes(body).index(b'db-backup')  # inside a string: still valid JSON
    body[at] ^= 0x01  # 'd' -> 'e'
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(body),  # type: ignore[attr-defined]
                  Metadata=stored["Metadata"])
    with pytest.raises(SharedJournalDamaged) as damaged:
        machine("b").open(session_id, operator="bob")
    assert f"s3://{BUCKET}/{key}" in damaged.value.message
    assert not (machine("b").root / session_id / "events.jsonl").exists()


def test_a_gap_in_the_numbers_is_reported_with_the_key_after_it(
        machine: Machine, mini: Checklist, s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    a.record("tick", "pre.tests-pass")
    session_id = a.id
    a.close()
    s3.delete_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                     Key=f"team/sessions/{session_id}/events/0000000002")
    with pytest.raises(SharedJournalDamaged) as damaged:
        machine("b").open(session_id, read_only=True)
    assert "events/0000000003" in damaged.value.message and "missing" in damaged.value.message


def test_a_viewer_on_another_machine_follows_the_store(machine: Machine,
                                                       mini: Checklist) -> None:
    a = machine("a").create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    viewer = machine("b").open(a.id, operator="bob", read_only=True)
    assert viewer.holder is not None and viewer.holder.user == "ana"
    assert viewer.refresh() == []
    a.record("tick", "pre.db-backup")
    assert a.shared.wait_uploaded(60)
    assert [e.kind for e in viewer.refresh()] == ["tick"]
    assert viewer.state(mini).items["pre.db-backup"].state == "done"
    a.close()
    viewer.refresh()
    assert viewer.holder is None  # released: the viewer says nobody drives it now


def test_sessions_lists_the_shared_ones(machine: Machine, mini: Checklist) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    assert a.shared.wait_uploaded(60)
    listed = machine("b").list()
    assert [s.id for s in listed] == [a.id]
    assert listed[0].done == 1 and listed[0].last_operator == "ana"
    a.close()


def test_store_urls_and_endpoints_are_checked() -> None:
    url = parse_store_url("s3://team-bucket/deploys/rs", "--store")
    assert (url.bucket, url.prefix) == ("team-bucket", "deploys/rs")
    for bad, says in (("https://team-bucket/x", "expected s3://"),
                      ("s3://Team_Bucket/x", "bucket name"),
                      ("s3://team-bucket/a/../b", "'..'")):
        with pytest.raises(StoreUrlError) as refused:
            parse_store_url(bad, "RSDEPLOY_STORE")
        assert refused.value.message.startswith("RSDEPLOY_STORE: ") and says in \
            refused.value.message
    check_endpoint("http://127.0.0.1:5000", url)
    check_endpoint("https://s3.eu-west-1.amazonaws.com", url)
    with pytest.raises(StoreUrlError) as clear:
        check_endpoint("http://minio.internal:9000", url)
    assert "not TLS" in clear.value.message


def test_a_refused_endpoint_stops_before_any_request(
        tmp_path: object, mini: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    from rsdeploy_tui.session.shared.store import SharedStore

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://10.0.0.5:9000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = SessionStore(tmp_path / "s", shared=SharedStore(  # type: ignore[operator]
        parse_store_url("s3://team-bucket/x", "--store")))
    with pytest.raises(RsdeployError) as refused:
        store.create(mini, operator="ana")
    assert "not TLS" in refused.value.message
    assert not (tmp_path / "s").exists()  # type: ignore[operator]  # nothing was started
    assert read_journal is not None
