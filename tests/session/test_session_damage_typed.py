"""One damaged session never breaks the others; corruption is named, the journal wins (#17).

Damages are valid JSON with wrong types (each line keeps a correct checksum, so the type check is
what must catch it), a flipped byte inside a string, a hand-edited ``session.json``, and a FIFO
where a file should be. Every command is run as the operator runs it (a real subprocess).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from rsdeploy_tui import locations
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import SessionDamaged, SessionStore
from rsdeploy_tui.session.events import Event, parse_line
from rsdeploy_tui.session.snapshot import snapshot_summary

REPO = Path(__file__).resolve().parents[2]


def cli(state: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RSDEPLOY_STATE_DIR": str(state), "PYTHONPATH": str(REPO / "src"),
           "USER": "cli-user"}
    env.pop("SUDO_USER", None)
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def real_checklist(tmp_path: Path) -> Checklist:
    path = tmp_path / "rs.yaml"
    shutil.copyfile(locations.bundled_checklist(), path)
    return load_checklist(path)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def started(state: Path, checklist: Checklist, operator: str) -> str:
    s = SessionStore(state / "sessions").create(checklist, vars={"version": "v2.3.0"},
                                                operator=operator)
    s.record("tick", "pre.unit-tests")
    s.record("check_result", "pre.db-backup", status="fail", summary="no backup in 60 min",
             duration_s=0.2, evidence={"bucket": "b"})
    s.record("command_started", "pre.unit-tests", run="r1", command="python manage.py test",
             pid=123, log="runs/r1.log")
    s.record("command_finished", "pre.unit-tests", run="r1", exit_code=0, duration_s=3.5,
             tail=["OK"])
    s.record("fact", name="previous_version", value="app-v41")
    s.close()
    return s.id


def rewrite_line(journal: Path, number: int, change: Any) -> None:
    """Line ``number`` becomes the same event with ``change(data)`` applied (right checksum)."""
    lines = journal.read_bytes().splitlines(keepends=True)
    event = parse_line(lines[number - 1].rstrip(b"\n"))
    data = json.loads(json.dumps(event.data))
    change(data)
    line = Event(event.seq, event.kind, event.at, event.operator, event.host, event.item,
                 data).to_line()
    if DEEP in line:  # json.dumps cannot write it either: splice the text in, re-checksum
        body = line[:line.rindex(b',"crc":')] + b"}"
        body = body.replace(b'"' + DEEP + b'"', b'{"x":' * 5000 + b'"bottom"' + b"}" * 5000)
        line = body[:-1] + b',"crc":"%08x"}\n' % zlib.crc32(body)
    lines[number - 1] = line
    journal.write_bytes(b"".join(lines))


DEEP = b"<5,000 nested mappings>"


DAMAGES = {
    # line: 1 session_created, 2 tick, 3 check_result, 4 command_started, 5 command_finished,
    # 6 fact
    "items a number": (1, lambda d: d.update(items=7), "data.items", "a number"),
    "vars a list": (1, lambda d: d.update(vars=["a", "b"]), "data.vars", "a list"),
    "evidence a list": (3, lambda d: d.update(evidence=[1, 2]), "data.evidence", "a list"),
    "tail a number": (5, lambda d: d.update(tail=42), "data.tail", "a number"),
    "a 5,000-deep fact": (6, lambda d: d.update(value=DEEP.decode()), "nested more than", ""),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_wrong_typed_event_is_a_located_damage_beside_a_healthy_session(
        state: Path, real_checklist: Checklist, damage: str) -> None:
    healthy = started(state, real_checklist, "ana")
    broken = started(state, real_checklist, "ben")
    number, change, field, kind = DAMAGES[damage]
    journal = state / "sessions" / broken / "events.jsonl"
    rewrite_line(journal, number, change)

    listed = cli(state, "sessions", "--json")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[healthy]["status"] == "active" and rows[healthy]["done"] == 1
    assert rows[broken]["status"] == "damaged"
    problem = rows[broken]["problem"]
    assert f"{journal} line {number}" in problem and field in problem and kind in problem

    for args in (["show", broken], ["report", broken]):
        result = cli(state, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert f"line {number}" in result.stderr and field in result.stderr, (args, result.stderr)
    shown = cli(state, "show", healthy, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == healthy
    store = SessionStore(state / "sessions")
    assert store.latest().id == healthy  # what plain `rsdeploy-tui` offers (tmux test: e2e)
    with pytest.raises(SessionDamaged) as refused:  # what `resume <id>` opens
        store.open(broken)
    assert f"line {number}" in refused.value.message and field in refused.value.message
    assert not (state / "sessions" / broken / "lock").read_bytes()  # let go again


def test_a_flipped_byte_inside_a_string_is_named_as_corruption(state: Path,
                                                                real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist, "ana")
    journal = state / "sessions" / session_id / "events.jsonl"
    data = journal.read_bytes()
    assert data.count(b'"kind":"tick"') == 1
    journal.write_bytes(data.replace(b'"kind":"tick"', b'"kind":"tisk"'))
    result = cli(state, "show", session_id)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{journal} line 2 is corrupted" in result.stderr
    assert "checksum does not match" in result.stderr
    assert "incomplete line" not in result.stderr  # not mistaken for a torn write

    # the same flip inside an item id on the last line: still corruption, never a torn tail
    journal.write_bytes(data.replace(b'"name":"previous_version"', b'"name":"previous_versiom"'))
    result = cli(state, "show", session_id)
    assert f"{journal} line 6 is corrupted" in result.stderr
    assert journal.read_bytes().count(b"\n") == 6  # nothing set aside or cut


def test_journals_written_before_checksums_still_load(state: Path,
                                                       real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist, "ana")
    journal = state / "sessions" / session_id / "events.jsonl"
    legacy = []
    for line in journal.read_bytes().splitlines():
        record = json.loads(line)
        del record["crc"]
        legacy.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    journal.write_bytes(b"".join(legacy))
    store = SessionStore(state / "sessions")
    s = store.open(session_id, operator="ana")  # appends a checksummed session_resumed
    assert len(s.events) == 7
    s.close()
    assert json.loads(journal.read_bytes().splitlines()[-1])["crc"]
    assert len(store.open(session_id, read_only=True).events) == 7


def test_a_session_json_claiming_finished_never_overrules_the_journal(
        state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist, "ana")
    snapshot = state / "sessions" / session_id / "session.json"
    record = json.loads(snapshot.read_text())
    assert record["status"] == "active"
    size = (state / "sessions" / session_id / "events.jsonl").stat().st_size
    assert snapshot_summary(record, size) is not None  # untouched, it is trusted (fast listing)
    record["status"] = "finished"
    snapshot.write_text(json.dumps(record))  # same journal_size: only its checksum tells

    listed = json.loads(cli(state, "sessions", "--json").stdout)
    assert [row["status"] for row in listed] == ["active"]
    assert SessionStore(state / "sessions").latest(active_only=True).id == session_id


def test_a_fifo_in_place_of_the_journal_is_refused_not_waited_on(
        state: Path, real_checklist: Checklist) -> None:
    healthy = started(state, real_checklist, "ana")
    broken = started(state, real_checklist, "ben")
    journal = state / "sessions" / broken / "events.jsonl"
    journal.unlink()
    os.mkfifo(journal)
    (state / "sessions" / broken / "session.json").unlink()

    listed = cli(state, "sessions", "--json", timeout=30)  # used to hang forever
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[healthy]["status"] == "active"
    assert rows[broken]["status"] == "damaged"
    assert "not a regular file" in rows[broken]["problem"]
    result = cli(state, "show", broken, timeout=30)
    assert result.returncode != 0 and "not a regular file" in result.stderr, result.stderr
    with pytest.raises(SessionDamaged, match="not a regular file"):
        SessionStore(state / "sessions").open(broken)


def test_a_failed_snapshot_write_says_the_event_was_recorded(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    snapshot = s.dir / "session.json"
    snapshot.unlink()
    snapshot.mkdir()  # os.replace onto a directory fails, as a full disk would
    event = s.record("tick", "pre.db-backup")
    assert s.flush_snapshot()  # session.json is written off the recording thread
    [warning] = s.warnings
    assert "The event was recorded in the journal" in warning
    assert "Nothing was recorded" not in warning and "repeat the last action" not in warning
    s.close()
    assert store.open(event_session := s.id, read_only=True).events[-1].kind == "tick"
    assert event.seq == 2 and event_session


def test_a_huge_var_is_never_recorded(store: SessionStore, checklist: Checklist) -> None:
    with pytest.raises(RsdeployError, match="var 'v26' is 70,000 characters"):
        store.create(checklist, vars={"v26": "x" * 70_000}, operator="ana")
    assert not store.root.exists() or not any(store.root.iterdir())


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize(("kind", "data", "refused"), [
    ("fact", {"name": "plan", "value": {"x": [1]}}, False),
    ("command_finished", {"run": "r1", "tail": 5}, True),
    ("fact", {"name": "deep", "value": nested(100)}, True),
    ("fact", {"name": "deep", "value": nested(2000)}, True),
], ids=["control", "wrong type", "100 deep", "2000 deep"])
def test_record_refuses_what_a_reload_would_call_damaged(
        store: SessionStore, checklist: Checklist, kind: str, data: dict[str, Any],
        refused: bool) -> None:
    s = store.create(checklist, operator="ana")
    journal = s.dir / "events.jsonl"
    before = journal.read_bytes()
    if refused:
        with pytest.raises(RsdeployError, match="was not recorded"):
            s.record(kind, **data)
        assert journal.read_bytes() == before
    else:
        s.record(kind, **data)
        assert len(journal.read_bytes()) > len(before)
    s.close()
    assert store.open(s.id, read_only=True).events  # it always loads again


def test_a_complete_last_line_that_is_not_json_is_not_taken_for_a_torn_write(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.db-backup")
    s.close()
    journal = s.dir / "events.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[:-2] + b"~\n")  # the closing brace of the last line flipped
    with pytest.raises(SessionDamaged, match="line 2 is not a valid event"):
        store.open(s.id)
    assert journal.read_bytes() == data[:-2] + b"~\n"  # nothing cut or set aside
    assert not list(s.dir.glob("events.jsonl.torn-*"))
    # zeros where the last write should be (a crash) are still a torn tail, set aside
    journal.write_bytes(data + b"\0" * 40 + b"\n")
    resumed = store.open(s.id)
    assert len(list(s.dir.glob("events.jsonl.torn-*"))) == 1
    resumed.close()
