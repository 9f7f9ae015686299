"""Two "machines" as two processes with their own state dirs on one moto store (#18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionLocked, SessionStore
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.objects import fetch_events
from rsdeploy_tui.session.shared.url import StoreUrl

BUCKET = "rsdeploy-shared"  # as in conftest.py
URL = f"s3://{BUCKET}/team"
Machine = Callable[[str], SessionStore]

RACER = """
import json, sys, time
from pathlib import Path
from rsdeploy_tui.session import ReadOnlySession, SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url
root, session_id, name, rounds, go = sys.argv[1:6]
store = SessionStore(Path(root), shared=SharedStore(parse_store_url(sys.argv[6], "test")))
s = store.open(session_id, operator=name, take_over=True)
Path(root, name + ".ready").write_text("ready")
while not Path(go).exists():
    time.sleep(0.01)
recorded = []
for i in range(int(rounds)):
    try:
        e = s.record("note", "pre.db-backup", text=f"{name}-{i}")
    except ReadOnlySession:
        break
    recorded.append([e.seq, f"{name}-{i}"])
s.shared.wait_uploaded(60)
lost = s.shared.lost
s.close()
print(json.dumps({"recorded": recorded, "lost": lost.message if lost else None}))
"""


def _env(state: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
            "RSDEPLOY_STATE_DIR": str(state), "RSDEPLOY_CONFIG_DIR": str(state / "config"),
            **extra}


def _cli(state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=_env(state, **env),
                          capture_output=True, text=True, timeout=300)


def test_sessions_and_finish_from_another_machine(tmp_path: Path, machine: Machine,
                                                   mini: Checklist, store_url: StoreUrl) -> None:
    a = machine("a").create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    a.close()
    listed = _cli(tmp_path / "b", "sessions", "--store", URL, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["id"] == a.id and row["done"] == 1 and row["operator"] == "ana"
    # the store from the environment, the sub-command on machine b
    finished = _cli(tmp_path / "b", "finish", a.id, "--operator", "bob", RSDEPLOY_STORE=URL)
    assert finished.returncode == 0, finished.stderr
    events = [e for e, _b in fetch_events(Bucket(store_url), a.id)]
    assert [(e.kind, e.operator) for e in events][-2:] == [("session_resumed", "bob"),
                                                           ("session_finished", "bob")]
    local_b = (tmp_path / "b" / "sessions" / a.id / "events.jsonl").read_bytes()
    assert local_b == b"".join(e.to_line() for e in events)
    # and --store before the sub-command; the local copy of machine a catches up on resume
    again = _cli(tmp_path / "a", "--store", URL, "sessions", "--json")
    assert json.loads(again.stdout)[0]["status"] == "finished", again.stderr


@pytest.mark.parametrize("round_", range(3))
def test_racing_writers_never_lose_duplicate_or_reorder_an_event(
        tmp_path: Path, machine: Machine, mini: Checklist, store_url: StoreUrl,
        round_: int) -> None:
    a = machine("a").create(mini, operator="ana")
    session_id = a.id
    a.close()
    go = tmp_path / "go"
    procs = {}
    for name in ("bea", "cal"):
        root = tmp_path / name / "sessions"
        root.mkdir(parents=True)
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", RACER, str(root), session_id, name, "80", str(go), URL],
            env=_env(tmp_path / name), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        # one after the other: the second takes the lease over from the first (both sync first)
        deadline = time.monotonic() + 120
        while not (root / f"{name}.ready").exists():
            assert procs[name].poll() is None, procs[name].communicate()[1]
            assert time.monotonic() < deadline, "the racer never opened the session"
            time.sleep(0.05)
    go.write_text("go")
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results[name] = json.loads(out.strip().splitlines()[-1])
    shared = [e for e, _b in fetch_events(Bucket(store_url), session_id)]  # contiguous, checked
    assert [e.seq for e in shared] == list(range(1, len(shared) + 1))
    notes = [e.data["text"] for e in shared if e.kind == "note"]
    assert len(notes) == len(set(notes))  # never twice
    for name, result in results.items():
        mine = [text for _seq, text in result["recorded"]]
        in_store = [t for t in notes if t.startswith(f"{name}-")]
        assert in_store == mine[:len(in_store)]  # in its own order, a prefix of what it recorded
        directory = tmp_path / name / "sessions" / session_id
        local = (directory / "events.jsonl").read_text()
        # nothing it recorded is lost: in its journal (the store's now) or set aside at once
        side = "".join(p.read_text() for p in directory.glob("events.jsonl.conflict-*"))
        assert all(f'"{text}"' in local + side for text in mine)
        if len(in_store) < len(mine):
            assert result["lost"], f"{name} lost events without being told"
            assert side and "set aside" in result["lost"]
            assert local.encode() == b"".join(e.to_line() for e in shared[:local.count("\n")])
        by_seq = {e.seq: e for e in shared}
        for seq, text in result["recorded"][:len(in_store)]:
            assert by_seq[seq].data["text"] == text  # the number it was given is its own


HOLDER = """
import sys, time
from pathlib import Path
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionLocked, SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url
store = SessionStore(Path(sys.argv[1]), shared=SharedStore(parse_store_url(sys.argv[3], "t")))
s = store.create(load_checklist(Path(sys.argv[2])), operator="ana")
s.record("tick", "pre.db-backup")
s.record("note", "pre.db-backup", text="dump taken on machine a")
assert s.shared.wait_uploaded(60)
print(s.id, flush=True)
time.sleep(600)
"""


def test_kill_9_of_the_holder_then_finish_on_the_other_machine(
        tmp_path: Path, machine: Machine, mini: Checklist, store_url: StoreUrl,
        other_host: Callable[[str], list[str]]) -> None:
    import signal

    mini_path = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"
    root = tmp_path / "a" / "sessions"
    # machine a is another host: its lease cannot be judged from here, only by its expiry
    holder = subprocess.Popen([*other_host("machine-a"), sys.executable, "-c", HOLDER,
                               str(root), str(mini_path), URL],
                              env=_env(tmp_path / "a"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        session_id = holder.stdout.readline().strip()  # type: ignore[union-attr]
        assert session_id, holder.stderr.read()  # type: ignore[union-attr]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    # its lease was never released: live for a minute, so machine b takes it over (recorded)
    with pytest.raises(SessionLocked):
        machine("b").open(session_id, operator="bob")
    b = machine("b").open(session_id, operator="bob", take_over=True)
    assert b.events[-1].kind == "lock_taken_over" and b.events[-1].data["from_user"] == "ana"
    assert b.events[-1].data["from_host"] == "machine-a"
    assert b.events[-1].data["lease"] == "taken_over"
    assert b.state(mini).items["pre.db-backup"].state == "done"
    b.record("tick", "pre.tests-pass")
    b.record("session_finished")
    assert b.shared.wait_uploaded(60)
    b.close()
    events = [e for e, _b in fetch_events(Bucket(store_url), session_id)]
    assert [(e.kind, e.operator) for e in events] == [
        ("session_created", "ana"), ("tick", "ana"), ("note", "ana"),
        ("lock_taken_over", "bob"), ("tick", "bob"), ("session_finished", "bob")]
    local_a = (root / session_id / "events.jsonl").read_bytes()
    assert b"".join(e.to_line() for e in events).startswith(local_a)  # a's copy: a prefix
