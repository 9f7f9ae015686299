"""Damaged files: each one recovers or gives a clear message; nothing is overwritten."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import DiskFull, NewerSession, SessionDamaged, SessionStore


def session_with_events(store: SessionStore, checklist: Checklist, ticks: int = 3) -> str:
    s = store.create(checklist, operator="ana")
    for qid in ["pre.db-backup", "pre.notify", "deploy.eb-deploy"][:ticks]:
        s.record("tick", qid)
    s.close()
    return s.id


def journal(store: SessionStore, session_id: str) -> Path:
    return store.root / session_id / "events.jsonl"


def snapshot(store: SessionStore, session_id: str) -> Path:
    return store.root / session_id / "session.json"


@pytest.mark.parametrize("damage", [b"", b'{"schema":1,"id":"x","done":', b"\x00\x00garbage",
                                    b"[1, 2]", b'{"schema": 1, "done": "many"}'])
def test_bad_snapshot_is_rebuilt_from_the_journal(store: SessionStore, checklist: Checklist,
                                                  damage: bytes) -> None:
    session_id = session_with_events(store, checklist)
    snapshot(store, session_id).write_bytes(damage)
    [summary] = store.list()
    assert (summary.status, summary.done, summary.total) == ("active", 3, 4)
    again = store.open(session_id)
    assert any("rebuilt from the journal" in w for w in again.warnings)
    assert json.loads(snapshot(store, session_id).read_text())["done"] == 3
    again.close()


def test_missing_snapshot_is_rebuilt(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    snapshot(store, session_id).unlink()
    assert store.list()[0].done == 3


def test_snapshot_behind_the_journal_is_not_trusted(store: SessionStore,
                                                    checklist: Checklist) -> None:
    """A crash between the append and the snapshot: the journal wins."""
    session_id = session_with_events(store, checklist, ticks=1)
    stale = snapshot(store, session_id).read_bytes()
    s = store.open(session_id)
    s.record("tick", "pre.notify")
    s.close()
    snapshot(store, session_id).write_bytes(stale)
    assert store.list()[0].done == 2


def test_torn_tail_is_set_aside(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    path = journal(store, session_id)
    whole = path.read_bytes()
    torn = b'{"v":1,"seq":5,"kind":"tick","at":"2026-'
    path.write_bytes(whole + torn)

    viewer = store.open(session_id, read_only=True)  # a reader changes nothing
    assert len(viewer.events) == 4 and "incomplete line" in viewer.warnings[0]
    assert path.read_bytes() == whole + torn

    s = store.open(session_id)
    assert [e.seq for e in s.events] == [1, 2, 3, 4, 5]  # 5 = session_resumed
    assert "set aside in events.jsonl.torn-" in s.warnings[0]
    [side] = path.parent.glob("events.jsonl.torn-*")
    assert side.read_bytes() == torn
    s.record("tick", "deploy.tag")
    s.close()
    lines = path.read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    again = store.open(session_id)
    assert again.warnings == [] and again.state(checklist).counts(checklist)[0] == 4
    again.close()


def test_zeroed_last_line_is_set_aside(store: SessionStore, checklist: Checklist) -> None:
    """After a power cut a file can end in zeros, newline included."""
    session_id = session_with_events(store, checklist)
    path = journal(store, session_id)
    path.write_bytes(path.read_bytes() + b"\x00" * 30 + b"\n")
    s = store.open(session_id)
    assert len(s.events) == 5 and s.warnings
    s.close()


def test_garbage_in_the_middle_stops_with_file_and_line(store: SessionStore,
                                                        checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    path = journal(store, session_id)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b"this is not json\n"
    damaged = b"".join(lines)
    path.write_bytes(damaged)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    with pytest.raises(SessionDamaged) as caught:
        store.open(session_id)
    assert f"{path} line 3 is not a valid event" in caught.value.message
    with pytest.raises(SessionDamaged):
        store.open(session_id, read_only=True)
    after = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    assert after == before  # nothing overwritten, nothing set aside
    snapshot(store, session_id).unlink()
    [summary] = store.list()
    assert summary.status == "damaged" and "line 3" in (summary.problem or "")
    assert store.latest() is None
    # the lock was released: after a repair by hand the session opens
    lines[2] = b""
    path.write_bytes(b"".join(lines))
    with pytest.raises(SessionDamaged, match="line 3"):  # seq 4 where 3 was expected
        store.open(session_id)


def test_empty_journal(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    journal(store, session_id).write_bytes(b"")
    with pytest.raises(SessionDamaged, match="empty or missing"):
        store.open(session_id)
    assert journal(store, session_id).read_bytes() == b""


def test_newer_schema_is_refused(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    path = journal(store, session_id)
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["v"] = 2
    lines[1] = json.dumps(record).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(NewerSession, match="line 2 has schema version 2"):
        store.open(session_id)
    assert store.list()[0].status == "damaged"


def test_newer_snapshot_is_refused(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    snapshot(store, session_id).write_text(json.dumps({"schema": 7}))
    with pytest.raises(NewerSession, match="schema version 7"):
        store.open(session_id)
    assert json.loads(snapshot(store, session_id).read_text()) == {"schema": 7}


def test_state_dir_that_is_a_file(tmp_path: Path, checklist: Checklist) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    store = SessionStore(blocker / "sessions")
    with pytest.raises(RsdeployError, match="Could not create a session directory"):
        store.create(checklist)
    with pytest.raises(RsdeployError, match="Could not list"):
        store.list()


def test_unreadable_journal(store: SessionStore, checklist: Checklist,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = session_with_events(store, checklist)
    real_open = os.open

    def refuse(path: str | os.PathLike[str], *args: object, **kwargs: object) -> int:
        if str(path).endswith("events.jsonl"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: refuse(path))
    with pytest.raises(RsdeployError, match="Permission denied") as caught:
        store.open(session_id)
    assert "events.jsonl" in caught.value.message


def test_disk_full_keeps_the_journal_whole(store: SessionStore, checklist: Checklist,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.db-backup")
    path = s.dir / "events.jsonl"
    before = path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 20:
            real_write(fd, bytes(data[: len(data) // 2]))  # part of the line lands, then ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(DiskFull) as caught:
        s.record("note", "pre.notify", text="x" * 200)
    assert "no space left" in caught.value.message and "intact" in caught.value.message
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert len(s.events) == 2
    s.record("tick", "pre.notify")
    s.close()
    again = store.open(s.id)
    assert [e.kind for e in again.events] == ["session_created", "tick", "tick",
                                              "session_resumed"]
    assert again.warnings == []
    again.close()


def test_stale_temp_files_are_removed(store: SessionStore, checklist: Checklist) -> None:
    session_id = session_with_events(store, checklist)
    temp = store.root / session_id / "session.json.999999.tmp"
    temp.write_text("half a snapshot")
    store.open(session_id, read_only=True)
    assert temp.exists()  # a reader never removes a writer's files
    store.open(session_id).close()
    assert not temp.exists()


def test_disk_full_when_starting(store: SessionStore, checklist: Checklist,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(DiskFull, match="no space left"):
        store.create(checklist, operator="ana")
    monkeypatch.undo()
    assert store.list() == []  # no half-made session left behind
