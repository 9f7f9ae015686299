"""Session.record_many: check results that land together, in one write and one fsync.

Each event is what ``record`` would have written (redacted, numbered, loads again); a bad one is
refused alone; a refused write leaves none of the batch behind.
"""

from __future__ import annotations

import errno
import os

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import DiskFull, SessionStore


def result(status: str, summary: str) -> dict[str, object]:
    return {"status": status, "summary": summary, "duration_s": 0.1, "evidence": {"hop": 1}}


def test_a_batch_is_one_write_and_one_fsync_and_loads_again(
        store: SessionStore, checklist: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.create(checklist, operator="ana")
    writes: list[bytes] = []
    syncs: list[int] = []
    real_write, real_fsync = os.write, os.fsync

    def counted_write(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    def counted_fsync(fd: int) -> None:
        syncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "write", counted_write)
    monkeypatch.setattr(os, "fsync", counted_fsync)
    events = s.record_many([("check_result", "pre.db-backup", result("pass", "dump found")),
                            ("check_result", "pre.notify", result("fail", "no answer")),
                            ("tick", "pre.db-backup", {})])
    journal_writes = [w for w in writes if b'"check_result"' in w or b'"tick"' in w]
    monkeypatch.undo()
    assert len(journal_writes) == 1 and journal_writes[0].count(b"\n") == 3
    assert len(syncs) >= 1  # the journal's one fsync (the snapshot thread may add its own)
    assert [e.seq for e in events] == [2, 3, 4]  # type: ignore[union-attr]
    s.close()
    again = store.open(s.id)
    assert [(e.kind, e.item) for e in again.events[1:4]] == [
        ("check_result", "pre.db-backup"), ("check_result", "pre.notify"),
        ("tick", "pre.db-backup")]
    assert again.events[1:4] == events
    assert again.state(checklist).item("pre.db-backup").state == "done"
    again.close()


def test_a_bad_event_is_refused_alone(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    bad = {"status": 7, "summary": "a status that is not text"}
    outcomes = s.record_many([("check_result", "pre.db-backup", result("pass", "dump found")),
                              ("check_result", "pre.notify", bad),
                              ("check_result", "deploy.eb-deploy", result("pass", "Ready"))])
    refused = outcomes[1]
    assert isinstance(refused, RsdeployError)
    assert "data.status" in refused.message and "expected text" in refused.message
    recorded = [e for e in s.events if e.kind == "check_result"]
    assert [e.item for e in recorded] == ["pre.db-backup", "deploy.eb-deploy"]
    assert [e.seq for e in s.events] == list(range(1, len(s.events) + 1))  # no gap
    s.close()


def test_a_refused_write_leaves_none_of_the_batch(store: SessionStore, checklist: Checklist,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.create(checklist, operator="ana")
    path = s.dir / "events.jsonl"
    before = path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if b'"check_result"' in data:
            real_write(fd, bytes(data[: len(data) // 2]))  # part of the batch lands, then ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(DiskFull):
        s.record_many([("check_result", "pre.db-backup", result("pass", "dump found")),
                       ("check_result", "pre.notify", result("pass", "sent"))])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [e.kind for e in s.events] == ["session_created"]
    s.record("tick", "pre.notify")  # the session goes on where it was
    s.close()
    again = store.open(s.id)
    assert [e.kind for e in again.events] == ["session_created", "tick", "session_resumed"]
    again.close()


def test_secrets_in_a_batch_are_masked_as_record_masks_them(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.redactor.add_values(["canary-Zq81-secret"])
    s.record_many([("check_result", "pre.db-backup",
                    result("fail", "login refused for canary-Zq81-secret"))])
    s.close()
    assert b"canary-Zq81-secret" not in (s.dir / "events.jsonl").read_bytes()
    again = store.open(s.id)
    assert [e.kind for e in again.events[1:3]] == ["secrets_remembered", "check_result"]
    again.close()
