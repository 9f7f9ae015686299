"""``sessions``, ``show``, ``finish``, ``abandon`` as an operator runs them (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui import locations
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.session import SessionStore

REPO = Path(__file__).resolve().parents[2]


def cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RSDEPLOY_STATE_DIR": str(state),
           "PYTHONPATH": str(REPO / "src"), "USER": "cli-user"}
    env.pop("SUDO_USER", None)
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def real_checklist(tmp_path: Path) -> Checklist:
    """The bundled checklist, copied so a test may change or delete the file."""
    path = tmp_path / "rs.yaml"
    shutil.copyfile(locations.bundled_checklist(), path)
    return load_checklist(path)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def started(state: Path, checklist: Checklist) -> str:
    """A session with a tick, a skip, a note, a check result, a run and a fact."""
    s = SessionStore(state / "sessions").create(checklist, vars={"version": "v2.3.0"},
                                                operator="ana")
    s.record("tick", "pre.unit-tests")
    s.record("skip", "pre.integration-tests", reason="covered by staging run")
    s.record("note", "pre.db-backup", text="bucket was slow")
    s.record("check_result", "pre.db-backup", status="fail", summary="no backup in 60 min",
             duration_s=0.2, evidence={})
    s.record("command_started", "pre.unit-tests", run="r1", command="python manage.py test",
             pid=123, log="runs/r1.log")
    s.record("command_finished", "pre.unit-tests", run="r1", exit_code=0, duration_s=3.5,
             tail=["OK"])
    s.record("fact", name="previous_version", value="app-v41")
    s.close()
    return s.id


def test_sessions_lists_newest_first(state: Path, real_checklist: Checklist) -> None:
    assert "No sessions" in cli(state, "sessions").stdout
    first = started(state, real_checklist)
    second = SessionStore(state / "sessions").create(real_checklist, operator="bob")
    second.close()
    result = cli(state, "sessions")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "CHECKLIST", "OPERATOR", "HOST"]
    assert second.id in lines[1] and first in lines[2]
    total = len(real_checklist.items)
    assert f"2/{total}" in lines[2] and "ana" in lines[2] and "active" in lines[2]
    listed = json.loads(cli(state, "sessions", "--json").stdout)
    assert [s["id"] for s in listed] == [second.id, first]
    assert listed[1]["done"] == 2 and listed[1]["total"] == total
    critical = sum(item.critical for item in real_checklist.items)
    assert listed[1]["critical_pending"] == critical


def test_show_json_shape(state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist)
    result = cli(state, "show", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"id", "checklist", "operator", "host", "status", "created", "updated",
                        "facts", "items"}
    assert doc["id"] == session_id and doc["operator"] == "ana" and doc["status"] == "active"
    assert doc["facts"] == {"previous_version": "app-v41"}
    items = {item["id"]: item for item in doc["items"]}
    assert [i["id"] for i in doc["items"]] == [i.qid for i in real_checklist.items]
    tests = items["pre.unit-tests"]
    assert set(tests) == {"id", "phase", "section", "text", "critical", "state", "by", "at",
                          "note", "reason", "check", "runs", "failing"}
    assert tests["state"] == "done" and tests["by"] == "ana"
    assert tests["text"] == "All unit tests passing (`python manage.py test`)"
    assert tests["runs"] == [{"run": "r1", "command": "python manage.py test",
                              "started": tests["runs"][0]["started"],
                              "finished": tests["runs"][0]["finished"], "exit_code": 0}]
    assert items["pre.integration-tests"]["reason"] == "covered by staging run"
    backup = items["pre.db-backup"]
    assert backup["critical"] and backup["state"] == "failed"
    assert backup["note"] == "bucket was slow"
    assert backup["check"]["status"] == "fail"


def test_show_text(state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist)
    result = cli(state, "show", session_id)
    assert result.returncode == 0, result.stderr
    assert f"Session {session_id}  (active)" in result.stdout
    assert "[x] pre.unit-tests" in result.stdout
    assert "[!] pre.db-backup CRITICAL" in result.stdout
    assert "skipped: covered by staging run" in result.stdout
    assert "previous_version = app-v41" in result.stdout


def test_show_works_while_the_session_is_driven(state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist)
    driving = SessionStore(state / "sessions").open(session_id, operator="ana")
    try:
        shown = cli(state, "show", session_id)
        assert shown.returncode == 0, shown.stderr
        assert "In use by:  ana on " in shown.stdout and f"(pid {os.getpid()})" in shown.stdout
        finish = cli(state, "finish", session_id)
        assert finish.returncode == 1
        assert "Session in use" in finish.stderr and "ana" in finish.stderr
        assert "Traceback" not in finish.stderr
    finally:
        driving.close()
    assert cli(state, "finish", session_id).returncode == 0


def test_show_when_the_checklist_file_is_gone(state: Path, real_checklist: Checklist) -> None:
    started(state, real_checklist)
    assert real_checklist.path is not None
    real_checklist.path.unlink()
    result = cli(state, "show", "--json")
    assert result.returncode == 0, result.stderr
    assert "is gone" in result.stderr
    items = {item["id"]: item for item in json.loads(result.stdout)["items"]}
    assert items["pre.unit-tests"]["state"] == "done"
    assert len(items) == len(real_checklist.items)  # ids recorded when the session started


def test_show_when_the_checklist_file_changed(state: Path, real_checklist: Checklist) -> None:
    started(state, real_checklist)
    assert real_checklist.path is not None
    with real_checklist.path.open("a") as handle:
        handle.write("\n# edited\n")
    result = cli(state, "show")
    assert result.returncode == 0, result.stderr
    assert "changed since the session recorded it" in result.stderr


def test_finish_and_abandon_are_recorded(state: Path, real_checklist: Checklist) -> None:
    first = started(state, real_checklist)
    result = cli(state, "finish", "--operator", "carol")
    assert result.returncode == 0, result.stderr
    assert f"Session {first} finished" in result.stdout
    again = cli(state, "finish", first)
    assert again.returncode == 1 and "already finished" in again.stderr
    events = SessionStore(state / "sessions").open(first, read_only=True).events
    assert events[-1].kind == "session_finished" and events[-1].operator == "carol"
    assert [e.kind for e in events].count("session_finished") == 1
    second = SessionStore(state / "sessions").create(real_checklist, operator="ana")
    second.close()
    assert cli(state, "abandon").returncode == 0
    listed = {s["id"]: s["status"] for s in json.loads(cli(state, "sessions", "--json").stdout)}
    assert listed == {first: "finished", second.id: "abandoned"}
    nothing = cli(state, "finish")
    assert nothing.returncode == 1 and "No active session" in nothing.stderr


def test_unknown_session_is_a_sentence(state: Path) -> None:
    result = cli(state, "show", "20991231T000000Z-ffff")
    assert result.returncode == 1
    assert "There is no session 20991231T000000Z-ffff" in result.stderr
    assert "Traceback" not in result.stderr


def test_damaged_session_is_a_sentence(state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist)
    journal = state / "sessions" / session_id / "events.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[1] = b"{broken\n"
    journal.write_bytes(b"".join(lines))
    for args in (["show", session_id], ["finish", session_id]):
        result = cli(state, *args)
        assert result.returncode == 1
        assert f"{journal} line 2 is not a valid event" in result.stderr
        assert "Traceback" not in result.stderr
    listed = cli(state, "sessions")
    assert listed.returncode == 0 and "damaged" in listed.stdout and "line 2" in listed.stderr


def test_a_session_whose_own_checklist_is_gone_never_follows_the_bundled_one(
        state: Path, tmp_path: Path) -> None:
    """Found by hand: resume adopted the bundled checklist, report was titled with its name."""
    text = locations.bundled_checklist().read_text(encoding="utf-8")
    path = tmp_path / "night.yaml"
    path.write_text(text.replace("name: RS Systems production deployment", "name: Night run", 1),
                    encoding="utf-8")
    session_id = started(state, load_checklist(path))
    path.unlink()
    journal = state / "sessions" / session_id / "events.jsonl"
    before = journal.read_bytes()
    for args in (["resume", session_id], ["resume"], ["report", session_id]):
        result = cli(state, *args)
        assert result.returncode == 1, (args, result.stdout[:300], result.stderr)
        assert "Checklist file not found" in result.stderr and str(path) in result.stderr
        assert "Traceback" not in result.stderr
    assert journal.read_bytes() == before  # nothing adopted, nothing resumed


def test_a_session_on_the_bundled_checklist_survives_its_file_moving(
        state: Path, real_checklist: Checklist) -> None:
    """A reinstall moves the bundled file: the same checklist by name is still the one."""
    session_id = started(state, real_checklist)
    assert real_checklist.path is not None
    real_checklist.path.unlink()
    result = cli(state, "report", session_id)
    assert result.returncode == 0, result.stderr
    assert "RS Systems production deployment" in result.stdout


def test_show_and_report_without_id_never_take_an_abandoned_session(
        state: Path, real_checklist: Checklist) -> None:
    tonight = started(state, real_checklist)
    store = SessionStore(state / "sessions")
    rehearsal = store.create(real_checklist, operator="bob")  # newer, then abandoned
    rehearsal.record("tick", "pre.notify-team" if real_checklist.find_item("pre.notify-team")
                     else next(real_checklist.iter_items()).qid)
    rehearsal.record("session_abandoned")
    rehearsal.close()
    assert store.list()[0].id == rehearsal.id  # the abandoned one is the newest
    for args in (("show", "--json"), ("report", "--format", "json")):
        done = cli(state, *args)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["session" if args[0] == "report" else "id"] == tonight
        assert f"latest active session {tonight}" in done.stderr
        assert rehearsal.id in done.stderr  # says which newer one it did not take
    # Once tonight's is finished and nothing is active, the latest finished one is taken.
    assert cli(state, "finish", tonight).returncode == 0
    done = cli(state, "show", "--json")
    assert json.loads(done.stdout)["id"] == tonight
    assert f"latest finished session {tonight}" in done.stderr


def test_without_id_and_only_abandoned_sessions_a_sentence(
        state: Path, real_checklist: Checklist) -> None:
    s = SessionStore(state / "sessions").create(real_checklist, operator="bob")
    s.record("session_abandoned")
    s.close()
    for command in ("show", "report"):
        done = cli(state, command)
        assert done.returncode != 0
        assert "no active or finished session" in done.stderr and s.id in done.stderr
        assert "Traceback" not in done.stderr


def test_show_says_a_done_item_is_now_failing(state: Path, real_checklist: Checklist) -> None:
    session_id = started(state, real_checklist)
    s = SessionStore(state / "sessions").open(session_id, operator="ana")
    s.record("check_result", "pre.unit-tests", status="fail", summary="1 test failed",
             evidence={})
    s.close()
    done = cli(state, "show", session_id)
    assert done.returncode == 0, done.stderr
    block = done.stdout.split("pre.unit-tests", 1)[1].split("\n  [", 1)[0]
    assert "NOW FAILING" in block and "check fail: 1 test failed" in block
    doc = json.loads(cli(state, "show", session_id, "--json").stdout)
    row = next(i for i in doc["items"] if i["id"] == "pre.unit-tests")
    assert row["failing"] is True and row["state"] == "done"
