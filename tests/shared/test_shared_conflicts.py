"""Deciding a conflict (#18): the events set aside after another machine took the numbers are
listed, and either recorded again on top of the store's journal (marked, with their original
time and operator) or kept aside by a recorded decision; the side file is never deleted, and
until the decision the session opens read-only."""

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
from rsdeploy_tui.errors import UsageError
from rsdeploy_tui.reports.log import build_log
from rsdeploy_tui.reports.markdown import render_markdown
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.conflicts import side_files
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.objects import fetch_events
from rsdeploy_tui.session.shared.url import StoreUrl
from support.restartable_moto import Restartable
from support.shared_conflict import make_conflict

BUCKET = "rsdeploy-shared"  # as in conftest.py
URL = f"s3://{BUCKET}/team"
MINI = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"
Machine = Callable[[str], SessionStore]


def _wait(condition: Callable[[], object], what: str, bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def _stored(store_url: StoreUrl, session_id: str) -> list[object]:
    return [event for event, _body in fetch_events(Bucket(store_url), session_id)]


def test_until_decided_it_opens_read_only_and_lists_the_events(
        machine: Machine, mini: Checklist, restartable: Restartable) -> None:
    session_id = make_conflict(machine, mini, restartable)
    viewer = machine("a").open(session_id, operator="ana")
    assert viewer.read_only and viewer.conflicts is not None
    [side] = viewer.conflicts.files
    assert side.name == "events.jsonl.conflict-1" and side.decision is None
    assert [e.kind for e in side.replayable()] == ["tick", "command_started",
                                                    "command_finished", "note"]
    assert any("conflicts" in w and "read-only" in w for w in viewer.warnings)
    from rsdeploy_tui.reports.wording import describe, run_commands

    commands = run_commands(side.events)
    said = [describe(e, mini, commands) for e in side.replayable()]
    tick_text = mini.item("pre.tests-pass").text
    assert said[0] == f"ticked {tick_text}"
    assert said[2] == "ran `make test` → exit 0"
    assert said[3] == f"note on {tick_text}: tests green on ana's box"


def test_rerecord_all_goes_on_top_of_the_store_and_says_where_from(
        machine: Machine, mini: Checklist, store_url: StoreUrl,
        restartable: Restartable) -> None:
    session_id = make_conflict(machine, mini, restartable)
    [side] = side_files(machine("a").root / session_id, [])
    originals = {e.seq: e for e in side.events}
    session = machine("a").decide_conflict(session_id, side.name, "rerecord", None,
                                           operator="ana")
    assert not session.read_only
    session.record("tick", "pre.no-debug")  # driving again, by the normal rules
    assert session.shared.wait_uploaded(60)
    session.close()
    stored = _stored(store_url, session_id)
    again = [e for e in stored if "rerecorded_from" in e.data]
    assert [e.kind for e in again] == ["tick", "command_started", "command_finished", "note"]
    for event in again:
        mark = event.data["rerecorded_from"]
        original = originals[mark["seq"]]
        assert (mark["file"], mark["at"], mark["operator"]) == (side.name, original.at, "ana")
        assert mark["sha256"] == side.sha256
    decision = next(e for e in stored if e.kind == "conflict_decided")
    assert decision.data["decision"] == "rerecorded" and decision.data["file"] == side.name
    assert decision.data["rerecorded"] == [e.seq for e in side.replayable()]
    assert stored.index(decision) > max(stored.index(e) for e in again)
    assert [e.kind for e in stored][-1] == "tick"  # the tick after the decision
    state = machine("c").open(session_id, read_only=True).state(mini)
    assert state.items["pre.tests-pass"].state == "done"
    assert state.items["pre.db-backup"].notes[0].text == "bob took over"  # the store's kept
    assert side.path.exists()  # never deleted
    again_open = machine("a").open(session_id, operator="ana")
    assert not again_open.read_only and again_open.conflicts is None  # decided
    again_open.close()


def test_keep_store_records_the_decision_and_leaves_the_file(
        machine: Machine, mini: Checklist, store_url: StoreUrl,
        restartable: Restartable) -> None:
    session_id = make_conflict(machine, mini, restartable)
    viewer = machine("a").open(session_id, operator="ana")
    [side] = viewer.conflicts.files
    session = viewer.conflicts.decide(side.name, "keep_store", None, False)
    session.close()
    stored = _stored(store_url, session_id)
    decision = stored[-1]
    assert decision.kind == "conflict_decided" and decision.data["decision"] == "kept_store"
    assert decision.data["set_aside"] == [e.seq for e in side.events]
    assert decision.data["path"] == str(side.path)
    assert not any("rerecorded_from" in e.data for e in stored)
    assert side.path.read_bytes() == b"".join(e.to_line() for e in side.events)
    # the deployment log says the events were set aside, and where
    log = build_log(mini, machine("c").open(session_id, read_only=True), use_git=False)
    text = render_markdown(log, mini)
    assert "set aside" in text and side.name in text and "kept the store's journal" in text


def test_chosen_events_take_their_run_along_and_bad_numbers_are_refused(
        machine: Machine, mini: Checklist, store_url: StoreUrl,
        restartable: Restartable) -> None:
    session_id = make_conflict(machine, mini, restartable)
    [side] = side_files(machine("a").root / session_id, [])
    finished = next(e for e in side.events if e.kind == "command_finished")
    resumed = next(e for e in side.events if e.kind == "session_resumed") if any(
        e.kind == "session_resumed" for e in side.events) else None
    with pytest.raises(UsageError):
        machine("a").decide_conflict(session_id, side.name, "rerecord", [999], operator="ana")
    if resumed is not None:
        with pytest.raises(UsageError):
            machine("a").decide_conflict(session_id, side.name, "rerecord", [resumed.seq],
                                         operator="ana")
    session = machine("a").decide_conflict(session_id, side.name, "rerecord", [finished.seq],
                                           operator="ana")
    session.close()
    again = [e for e in _stored(store_url, session_id) if "rerecorded_from" in e.data]
    assert [e.kind for e in again] == ["command_started", "command_finished"]
    log = build_log(mini, machine("c").open(session_id, read_only=True), use_git=False)
    text = render_markdown(log, mini)
    assert "re-recorded" in text and "make test" in text


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
            "RSDEPLOY_STATE_DIR": str(state), "RSDEPLOY_CONFIG_DIR": str(state / "config")}


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=_env(state),
                          capture_output=True, text=True, timeout=300)


def test_the_conflicts_command_lists_and_decides(
        tmp_path: Path, machine: Machine, mini: Checklist, store_url: StoreUrl,
        restartable: Restartable) -> None:
    session_id = make_conflict(machine, mini, restartable)
    state_a = tmp_path / "a"
    listed = _cli(state_a, "conflicts", "--store", URL)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert f"Session {session_id}: events.jsonl.conflict-1" in out
    assert f"ticked {mini.item('pre.tests-pass').text}" in out
    assert "ran `make test` → exit 0" in out and "ana@" in out
    assert f"rsdeploy-tui conflicts {session_id} --rerecord all" in out
    as_json = json.loads(_cli(state_a, "conflicts", session_id, "--store", URL,
                              "--json").stdout)
    [entry] = as_json
    [side] = entry["side_files"]
    assert side["decision"] is None
    note = next(e for e in side["events"] if e["kind"] == "note")
    # a bad number is a sentence, never a traceback
    refused = _cli(state_a, "conflicts", session_id, "--rerecord", "x,y", "--store", URL)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--rerecord" in refused.stderr
    decided = _cli(state_a, "conflicts", session_id, "--rerecord", str(note["seq"]),
                   "--store", URL, "--operator", "ana")
    assert decided.returncode == 0, decided.stderr
    assert f"re-recorded 1 events of events.jsonl.conflict-1 (#{note['seq']})" in decided.stdout
    stored = _stored(store_url, session_id)
    assert [e.kind for e in stored][-2:] == ["note", "conflict_decided"]
    assert stored[-2].data["text"] == "tests green on ana's box"
    assert "No events set aside waiting" in _cli(state_a, "conflicts", "--store", URL).stdout
    shown = _cli(state_a, "conflicts", session_id, "--all", "--store", URL).stdout
    assert "Decided by ana" in shown and f"re-recorded #{note['seq']}" in shown
