"""Offline (#18): the store stops answering, work goes on locally, the header's status says
how many events wait, and they go up in order once the store answers again."""

from __future__ import annotations

import time
from pathlib import Path

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.objects import fetch_events
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import StoreUrl
from support.restartable_moto import Restartable


def _wait(condition: object, what: str, bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_offline_then_back_uploads_in_order(tmp_path: Path, mini: Checklist,
                                            store_url: StoreUrl,
                                            restartable: Restartable) -> None:
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    shared = SharedStore(store_url, Bucket(store_url, settings))
    a = SessionStore(tmp_path / "a" / "sessions", shared=shared).create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    assert a.shared.wait_uploaded(60) and a.shared.status() == "shared"
    restartable.stop()
    for qid in ("pre.db-restore-test", "pre.tests-pass", "pre.no-debug"):
        a.record("tick", qid)  # the UI never waits for the network: each is durable locally
    _wait(lambda: a.shared.offline is not None, "the uploader notices the store is gone")
    assert a.shared.status() == "shared: offline — 3 events not yet shared"
    assert a.state(mini).items["pre.no-debug"].state == "done"
    restartable.start()
    assert a.shared.wait_uploaded(120), a.shared.status()
    assert a.shared.status() == "shared"
    events = [e for e, _b in fetch_events(Bucket(store_url, settings), a.id)]
    assert b"".join(e.to_line() for e in events) == (a.dir / "events.jsonl").read_bytes()
    assert [e.item for e in events if e.kind == "tick"] == [
        "pre.db-backup", "pre.db-restore-test", "pre.tests-pass", "pre.no-debug"]
    a.close()


def test_a_takeover_while_offline_keeps_both_sides_and_opens_read_only(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, restartable: Restartable,
        aws_env: object) -> None:
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    machine_a = SessionStore(tmp_path / "a" / "sessions",
                             shared=SharedStore(store_url, Bucket(store_url, settings)))
    # machine b reaches the same store through the other moto endpoint (one moto state)
    machine_b = SessionStore(tmp_path / "b" / "sessions", shared=SharedStore(store_url))
    a = machine_a.create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    restartable.stop()  # machine a loses the network
    a.record("tick", "pre.db-backup")
    a.record("tick", "pre.tests-pass")
    b = machine_b.open(a.id, operator="bob", take_over=True)
    b.record("note", "pre.db-backup", text="bob took over: ana unreachable")
    assert b.shared.wait_uploaded(60)
    b.close()
    restartable.start()  # machine a is back: its event 2 is bob's number now
    _wait(lambda: a.shared.lost is not None, "machine a learns another writer owns event 2")
    assert a.read_only
    a.close()
    reopened = machine_a.open(a.id, operator="ana")
    assert reopened.read_only  # until the operator decides
    side = sorted((machine_a.root / a.id).glob("events.jsonl.conflict-*"))
    assert len(side) == 1
    kept = side[0].read_text()
    assert '"pre.db-backup"' in kept and '"pre.tests-pass"' in kept and '"tick"' in kept
    assert any(str(side[0]) in w and "read-only" in w for w in reopened.warnings)
    kinds = [(e.kind, e.operator) for e in reopened.events]
    assert ("note", "bob") in kinds and ("tick", "ana") not in kinds
    store_events = [e for e, _b in fetch_events(Bucket(store_url, settings), a.id)]
    assert [e.kind for e in store_events] == [e.kind for e in reopened.events]


def test_while_offline_retries_keep_their_pace_whatever_is_recorded(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl,
        restartable: Restartable) -> None:
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    bucket = Bucket(store_url, settings)
    a = SessionStore(tmp_path / "a" / "sessions",
                     shared=SharedStore(store_url, bucket)).create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    tries: list[str] = []
    real = bucket.put_new

    def counted(key: str, *args: object, **kwargs: object) -> str:
        tries.append(key)  # a spy: the call still goes to the (unreachable) endpoint
        return real(key, *args, **kwargs)  # type: ignore[arg-type]

    bucket.put_new = counted  # type: ignore[method-assign]
    restartable.stop()
    began = time.monotonic()
    for n in range(60):
        a.record("note", "pre.db-backup", text=f"offline {n}")
        time.sleep(0.02)
    elapsed = time.monotonic() - began
    first = tries[0] if tries else ""
    # the first waiting event is tried once per retry (0.2, 0.5, 1, 2, 5 s apart), not once
    # per event recorded meanwhile
    assert 1 <= tries.count(first) <= 2 + elapsed / 0.2, (tries.count(first), elapsed)
    assert tries.count(first) < 20
    restartable.start()
    assert a.shared.wait_uploaded(120), a.shared.status()
    a.close()
