"""One process drives a session; others are told who, may read, and take over dead locks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import ReadOnlySession, SessionLocked, SessionStore

REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from rsdeploy_tui.session import SessionStore
s = SessionStore(sys.argv[1]).open(sys.argv[2], operator="night-shift")
print("holding", flush=True)
sys.stdin.readline()
s.close()
print("released", flush=True)
"""


def hold(store: SessionStore, session_id: str) -> subprocess.Popen[str]:
    """Another process driving the session until its stdin gets a line."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.root), session_id],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert child.stdout is not None and child.stdout.readline() == "holding\n"
    return child


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_second_process_is_told_who_holds_it(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    child = hold(store, s.id)
    try:
        with pytest.raises(SessionLocked) as caught:
            store.open(s.id, operator="bob")
        holder = caught.value.holder
        assert holder is not None and holder.pid == child.pid and holder.user == "night-shift"
        assert f"night-shift on {socket.gethostname()} (pid {child.pid}) since 20" in \
            caught.value.message
        viewer = store.open(s.id, read_only=True)
        assert viewer.holder == holder
        size = (s.dir / "events.jsonl").stat().st_size
        with pytest.raises(ReadOnlySession):
            viewer.record("tick", "pre.db-backup")
        assert (s.dir / "events.jsonl").stat().st_size == size
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
    again = store.open(s.id, operator="bob")  # released cleanly: an ordinary resume
    assert [e.kind for e in again.events][-2:] == ["session_resumed", "session_resumed"]
    assert again.events[-1].operator == "bob"
    again.close()


def test_killed_holder_is_taken_over(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    child = hold(store, s.id)
    child.send_signal(signal.SIGKILL)  # the SSH link dropped and took the app with it
    child.wait(timeout=30)
    again = store.open(s.id, operator="bob")
    last = again.events[-1]
    assert last.kind == "lock_taken_over" and last.operator == "bob"
    assert last.data["from_pid"] == child.pid and last.data["from_user"] == "night-shift"
    again.close()


def test_stale_lock_file_from_a_dead_pid(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    pid = dead_pid()
    (s.dir / "lock").write_text(json.dumps({"schema": 1, "pid": pid, "host": socket.gethostname(),
                                            "user": "ghost", "since": "2026-11-26T01:00:00Z"}))
    assert store.open(s.id, read_only=True).holder is None  # nobody alive holds it
    again = store.open(s.id)
    assert again.events[-1].kind == "lock_taken_over"
    assert again.events[-1].data["from_pid"] == pid
    assert again.events[-1].data["from_user"] == "ghost"
    again.close()
    assert (s.dir / "lock").read_text() == ""  # released cleanly


def test_lock_from_another_host_needs_take_over(store: SessionStore,
                                                checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.close()
    lock = {"schema": 1, "pid": 4242, "host": "bastion-2", "user": "carol",
            "since": "2026-11-26T01:00:00Z"}
    (s.dir / "lock").write_text(json.dumps(lock))
    with pytest.raises(SessionLocked, match="--take-over") as caught:
        store.open(s.id, operator="bob")
    assert "carol on bastion-2 (pid 4242) since 2026-11-26 01:00 UTC" in caught.value.message
    assert len(store.open(s.id, read_only=True).events) == 1  # nothing recorded
    again = store.open(s.id, operator="bob", take_over=True)
    last = again.events[-1]
    assert last.kind == "lock_taken_over"
    assert (last.data["from_host"], last.data["from_user"]) == ("bastion-2", "carol")
    again.close()


def test_lock_file_names_the_holder(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    record = json.loads((s.dir / "lock").read_text())
    assert record["pid"] == os.getpid() and record["user"] == "ana"
    assert record["host"] == socket.gethostname() and record["schema"] == 1
    assert record["since"].endswith("Z")
    s.close()
    with pytest.raises(ReadOnlySession, match="closed"):
        s.record("tick", "pre.db-backup")
