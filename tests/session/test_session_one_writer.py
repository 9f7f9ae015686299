"""One writer whatever happens to the files in a session directory (#17.1).

The exclusion is a flock on the session directory, which deleting ``lock`` cannot remove, and
every append first checks that the journal still ends where its writer left it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import ReadOnlySession, SessionLocked, SessionStore
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.journal import read_journal

REPO = Path(__file__).resolve().parents[2]

# Each worker tries, round after round, to drive the session and note "<name>-<k>" in it; it
# prints every note whose record() returned (acknowledged) and "done" at the end.
WORKER = """
import sys
from rsdeploy_tui.session import SessionLocked, SessionStore
root, session_id, name, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = SessionStore(root)
k = 0
for _ in range(rounds):
    try:
        s = store.open(session_id, operator=name)
    except SessionLocked:
        continue
    try:
        for _ in range(3):
            k += 1
            s.record("note", "pre.notify", text=f"{name}-{k}")
            print(f"{name}-{k}", flush=True)
    finally:
        s.close()
print("done", flush=True)
"""


def worker(store: SessionStore, session_id: str, name: str, rounds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(store.root), session_id, name, str(rounds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")})


def test_deleting_the_lock_file_never_lets_a_second_writer_in(store: SessionStore,
                                                              checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    lock = store.root / s.id / "lock"
    stop = threading.Event()
    deletions = 0

    def delete_lock_files() -> None:  # the operator's "stale lock" habit, as fast as it goes
        nonlocal deletions
        while not stop.is_set():
            try:
                lock.unlink()
                deletions += 1
            except FileNotFoundError:
                pass

    deleter = threading.Thread(target=delete_lock_files)
    deleter.start()
    try:
        workers = [worker(store, s.id, name, 60) for name in ("ana", "ben")]
        outputs = [w.communicate(timeout=300) for w in workers]
    finally:
        stop.set()
        deleter.join()
    for w, (out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0 and out.endswith("done\n"), err
    acknowledged = [line for out, _ in outputs for line in out.splitlines() if line != "done"]
    assert deletions > 0 and len(acknowledged) > 6  # both really wrote, lock files really went

    loaded = read_journal(store.root / s.id / "events.jsonl")
    assert loaded.warnings == []  # no event numbered twice, nothing torn
    assert [e.seq for e in loaded.events] == list(range(1, len(loaded.events) + 1))
    noted = [e.data["text"] for e in loaded.events if e.kind == "note"]
    assert sorted(noted) == sorted(acknowledged)  # each acknowledged note exactly once
    again = store.open(s.id, read_only=True)
    assert len(again.events) == len(loaded.events)


# A pre-fix rsdeploy-tui (its code is not installed here, so this is a home-made double of it):
# it honours only the flock on the ``lock`` file, reads the journal and appends the next seq.
OLD_WRITER = """
import fcntl, os, sys
from pathlib import Path
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.journal import JournalWriter, read_journal
directory = Path(sys.argv[1])
fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
loaded = read_journal(directory / "events.jsonl")
writer = JournalWriter(directory / "events.jsonl", loaded.good_size)
seq = len(loaded.events) + 1
writer.append(Event(seq, "tick", "2026-11-26T02:31:00.000Z", "old", "h", "pre.notify", {}))
print(seq, flush=True)
"""


def test_an_append_behind_the_writers_back_turns_the_session_read_only(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.db-backup")
    (store.root / s.id / "lock").unlink()  # lets the old version's flock in
    other = subprocess.run(
        [sys.executable, "-c", OLD_WRITER, str(s.dir)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=60, check=True)
    assert other.stdout.strip() == "3"

    with pytest.raises(ReadOnlySession) as refused:
        s.record("tick", "deploy.eb-deploy")
    assert "Another process wrote to this session" in refused.value.title
    assert "was not recorded" in refused.value.message
    assert s.read_only
    with pytest.raises(ReadOnlySession):
        s.record("note", "pre.notify", text="still refused")

    loaded = read_journal(s.dir / "events.jsonl")
    assert loaded.warnings == []
    assert [(e.seq, e.kind, e.operator) for e in loaded.events] == [
        (1, "session_created", "ana"), (2, "tick", "ana"), (3, "tick", "old")]
    # the lock was let go: the session can be resumed properly now
    resumed = store.open(s.id, operator="ana")
    assert resumed.events[-1].kind == "session_resumed"
    resumed.close()


def test_a_journal_replaced_under_its_writer_refuses_the_append(store: SessionStore,
                                                               checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    journal = s.dir / "events.jsonl"
    before = journal.read_bytes()
    journal.unlink()
    journal.write_bytes(before)
    with pytest.raises(ReadOnlySession) as refused:
        s.record("tick", "pre.db-backup")
    assert "deleted or replaced" in refused.value.message
    assert journal.read_bytes() == before


def test_a_journal_with_numbers_used_twice_loads_every_event(store: SessionStore,
                                                             checklist: Checklist) -> None:
    """Journals written by two processes before the fix: 4 and 5 twice."""
    s = store.create(checklist, operator="ana")
    for qid in ("pre.db-backup", "pre.notify"):
        s.record("tick", qid)
    s.close()
    journal = store.root / s.id / "events.jsonl"
    with journal.open("ab") as handle:
        for seq, who, qid in ((4, "ana", "deploy.eb-deploy"), (5, "ana", "deploy.tag"),
                              (4, "ben", "pre.notify"), (5, "ben", "pre.db-backup")):
            handle.write(Event(seq, "untick" if who == "ben" else "tick",
                               "2026-11-26T02:40:00.000Z", who, "h", qid, {}).to_line())

    viewer = store.open(s.id, read_only=True)
    assert [e.seq for e in viewer.events] == [1, 2, 3, 4, 5, 6, 7]
    assert [(e.operator, e.item) for e in viewer.events[5:]] == [
        ("ben", "pre.notify"), ("ben", "pre.db-backup")]
    assert any("numbered again (line 6, 7)" in w for w in viewer.warnings)
    assert [x.status for x in store.list()] == ["active"]
    resumed = store.open(s.id, operator="ana")
    assert resumed.events[-1].seq == 8
    resumed.close()
    assert json.loads(journal.read_bytes().splitlines()[-1])["seq"] == 8


HOLDER = """
import sys
from rsdeploy_tui.session import SessionStore
s = SessionStore(sys.argv[1]).open(sys.argv[2], operator="night-shift")
print("holding", flush=True)
sys.stdin.readline()
s.close()
"""


def test_who_holds_it_is_still_known_after_the_lock_file_is_deleted(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.root), s.id], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        (store.root / s.id / "lock").unlink()
        with pytest.raises(SessionLocked) as refused:
            store.open(s.id, operator="ben")
        assert refused.value.holder is not None and refused.value.holder.pid == holder.pid
        assert f"(pid {holder.pid})" in refused.value.message
        viewer = store.open(s.id, read_only=True)
        assert viewer.holder is not None and viewer.holder.pid == holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    store.open(s.id, operator="ben").close()  # free again once it let go


def test_where_directories_cannot_be_flocked_the_lock_file_still_excludes(
        store: SessionStore, checklist: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    """NFS cannot run here, so its refusal to flock a directory (EBADF: NFS emulates flock with
    POSIX locks, which need a file open for writing) is played by a wrapper around flock."""
    import errno
    import fcntl
    import stat

    real = fcntl.flock

    def nfs_flock(fd: int, operation: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EBADF, "Bad file descriptor")
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", nfs_flock)
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.db-backup")
    with pytest.raises(SessionLocked):
        store.open(s.id, operator="ben")
    s.close()
    store.open(s.id, operator="ben").close()
