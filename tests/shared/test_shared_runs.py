"""A detached run's output and exit, uploaded by the run's own wrapper, followed elsewhere (#18).

Two "machines" = two state dirs (and processes) on one moto store. Machine a's app is a small
process that opens the shared session and starts the run as the app does (``start_run`` with
the session's ``share`` settings); the run's wrapper starts the uploader, so when a's app is
kill -9'd the output and exit still land. Machine b is this test process: a runbook (Pilot) on
its own copy of the session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_shared_offline import Restartable  # moto on a port that can stop and start again

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.runner import start_run
from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.session.shared import run_objects, run_upload
from rsdeploy_tui.session.shared.bucket import Bucket
from rsdeploy_tui.session.shared.run_objects import RunMirror, SharedRunDamaged
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import StoreUrl
from rsdeploy_tui.ui.screens.resume import details_text

BUCKET = "rsdeploy-shared"  # as in conftest.py
URL = f"s3://{BUCKET}/team"
CANARY = "canary-Pw-7d41e9c2"
"""A secret in the run's environment and output: it must reach no object in the store."""
QID = "pre.db-backup"
Machine = Callable[[str], SessionStore]
SIZE = (110, 34)

APP = """
import json, sys, time
from pathlib import Path
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.runner import new_run_id, start_run
from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.session.shared import run_upload
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url
root, checklist, url, command, canary = sys.argv[1:6]
shared = SharedStore(parse_store_url(url, "test"))
s = SessionStore(Path(root), shared=shared).create(load_checklist(Path(checklist)),
                                                   operator="ana")
run_id = new_run_id("pre.db-backup")
h = start_run(s.dir / "runs", command, run_id=run_id, env={"DB_PASSWORD": canary},
              secret_names=["DB_PASSWORD"], share=run_upload.settings(shared, s.id))
s.record("command_started", "pre.db-backup", run=run_id, command=command, pid=h.pid,
         log=str(h.log_path))
assert s.shared.wait_uploaded(60)
print(json.dumps({"session": s.id, "run": run_id, "log": str(h.log_path)}), flush=True)
time.sleep(600)
"""
MINI = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
            "RSDEPLOY_STATE_DIR": str(state), "RSDEPLOY_CONFIG_DIR": str(state / "config")}


def _wait(condition: Callable[[], Any], what: str, bound_s: float = 120.0) -> Any:
    deadline = time.monotonic() + bound_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)
    return found


async def _until(pilot: Any, condition: Callable[[], Any], what: str,
                 bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.1)


def _objects(s3: Any, prefix: str = "") -> dict[str, tuple[bytes, dict[str, str]]]:
    """Every object of the bucket under ``prefix``: key -> (body, metadata)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for entry in page.get("Contents") or ():
            got = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
            found[entry["Key"]] = (got["Body"].read(), got.get("Metadata") or {})
    return found


def _run_prefix(session_id: str, run_id: str) -> str:
    return f"team/sessions/{session_id}/runs/{run_id}/"


def _exit_landed(s3: Any, session_id: str, run_id: str) -> bool:
    return _run_prefix(session_id, run_id) + "exit" in _objects(
        s3, _run_prefix(session_id, run_id))


def _chunks(objects: dict[str, tuple[bytes, dict[str, str]]], prefix: str) -> list[bytes]:
    keys = sorted(k for k in objects if k.startswith(prefix + "log/"))
    assert [k[len(prefix) + 4:] for k in keys] == [f"{n:08d}" for n in
                                                   range(1, len(keys) + 1)]
    return [objects[k][0] for k in keys]


def _machine_a_out_of_reach(log: Path, run_id: str) -> None:
    """Once a's uploader is done, its files leave this "machine" b's reach (on two hosts b
    could never read them): what b shows comes from the store alone."""
    _wait(lambda: (run_upload.read_status(log.parent, run_id) or {}).get("state") == "done",
          "machine a's uploader ends once the exit record is up")
    machine_a = log.parents[3]
    machine_a.rename(machine_a.with_name("a-out-of-reach"))


@pytest.fixture
def app_on_a(tmp_path: Path, store_url: StoreUrl) -> Iterator[Callable[[str], dict[str, str]]]:
    """``app_on_a(command)``: machine a's app starts ``command`` detached on a shared session,
    and is kill -9'd at once (the run and its wrapper go on)."""
    started: list[subprocess.Popen[str]] = []

    def start(command: str) -> dict[str, str]:
        root = tmp_path / "a" / "sessions"
        app = subprocess.Popen([sys.executable, "-c", APP, str(root), str(MINI), URL, command,
                                CANARY], env=_env(tmp_path / "a"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        started.append(app)
        line = app.stdout.readline()  # type: ignore[union-attr]
        assert line, app.stderr.read()  # type: ignore[union-attr]
        app.send_signal(signal.SIGKILL)  # the app is gone; the run's wrapper is not
        app.wait(timeout=60)
        return json.loads(line)

    yield start
    for app in started:
        if app.poll() is None:
            app.kill()


async def _end_recorded_on_b(machine: Machine, mini: Checklist, session_id: str,
                             what: str) -> tuple[Session, list[str]]:
    """Machine b takes the session over and runs the app until it has recorded the run's
    end from the store; the session and the run output its screen showed."""
    b = machine("b").open(session_id, operator="bob", take_over=True)
    app = make_app(mini, b, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: any(e.kind == "command_finished" for e in b.events), what)
        await pilot.pause(0.3)
        shown = app.screen.run_output.plain_lines()
    return b, shown


async def test_the_wrapper_alone_uploads_while_the_app_is_killed_and_b_records_the_end(
        app_on_a: Callable[[str], dict[str, str]], machine: Machine, mini: Checklist,
        s3: Any) -> None:
    command = ('for i in 1 2 3 4 5 6; do echo "slow line $i"; sleep 0.4; done\n'
               'echo "the password is $DB_PASSWORD"\necho all-done-here')
    run = app_on_a(command)
    _wait(lambda: _exit_landed(s3, run["session"], run["run"]),
          "the exit record reaches the store with machine a's app dead")
    prefix = _run_prefix(run["session"], run["run"])
    objects = _objects(s3, prefix)
    log = Path(run["log"])
    local = log.read_bytes()
    assert b"slow line 6" in local and CANARY.encode() not in local
    assert b"".join(_chunks(objects, prefix)) == local  # in order, exactly the local bytes
    assert len(_chunks(objects, prefix)) >= 2  # uploaded while it ran, not only at the end
    assert objects[prefix + "meta"][0] == log.with_suffix(".json").read_bytes()
    assert objects[prefix + "exit"][0] == log.with_suffix(".exit").read_bytes()
    for key, (body, metadata) in _objects(s3).items():  # no object anywhere holds the secret
        assert CANARY.encode() not in body and CANARY not in json.dumps(metadata), key
    _machine_a_out_of_reach(log, run["run"])

    b, shown = await _end_recorded_on_b(machine, mini, run["session"],
                                        "machine b records the run's end from the store")
    assert "slow line 6" in shown
    finished = [e for e in b.events if e.kind == "command_finished"]
    assert len(finished) == 1 and finished[0].data["run"] == run["run"]
    assert finished[0].data["exit_code"] == 0 and "all-done-here" in finished[0].data["tail"]
    assert b.state(mini).items[QID].runs[-1].exit_code == 0
    b.close()
    events = machine("c").open(run["session"], read_only=True).events
    assert [e.kind for e in events].count("command_finished") == 1  # in the store's journal


async def test_a_failing_multi_line_command_is_recorded_with_its_failed_step(
        app_on_a: Callable[[str], dict[str, str]], machine: Machine, mini: Checklist,
        s3: Any) -> None:
    run = app_on_a("echo first step ran\nfalse\necho never printed")
    _wait(lambda: _exit_landed(s3, run["session"], run["run"]), "the run's end is up")
    _machine_a_out_of_reach(Path(run["log"]), run["run"])
    b, shown = await _end_recorded_on_b(machine, mini, run["session"],
                                        "machine b records the failed run's end")
    assert "first step ran" in shown
    [finished] = [e for e in b.events if e.kind == "command_finished"]
    assert finished.data["exit_code"] == 1
    assert finished.data["failed"]["step"] == 2 and finished.data["failed"]["of"] == 3
    assert b.state(mini).items[QID].state == "failed"
    b.close()


async def test_a_viewer_sees_the_output_live_while_the_run_goes_on(
        machine: Machine, mini: Checklist, s3: Any) -> None:
    holder = machine("a").create(mini, operator="ana")
    assert holder.shared.wait_uploaded(60)
    viewer = machine("b").open(holder.id, operator="bob", read_only=True)
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # started on machine a after the viewer opened: the follower picks it up
        command = 'for i in $(seq 1 40); do echo "live line $i"; sleep 0.25; done'
        handle = start_run(holder.dir / "runs", command, run_id="pre.db-backup-live",
                           share=run_upload.settings(holder.shared_store, holder.id))
        holder.record("command_started", QID, run=handle.run_id, command=command,
                      pid=handle.pid, log=str(handle.log_path))
        output = app.screen.run_output
        await _until(pilot, lambda: "live line 3" in output.plain_lines(),
                     "the viewer shows machine a's output")
        assert not _exit_landed(s3, holder.id, handle.run_id), "not live: the run had ended"
        shown = output.runs[handle.run_id]
        assert shown.status.startswith("running on ") and shown.state == "running"
        assert "Running on " in app.screen._panes["phase-pre"].detail.shown_text  # noqa: SLF001
        await _until(pilot, lambda: output.runs[handle.run_id].status.startswith("exit 0"),
                     "the viewer shows the end once the exit record is in the store", 180)
        assert "live line 40" in output.plain_lines()
    assert not any(e.kind == "command_finished" for e in viewer.events)  # a viewer records none
    holder.close()


def test_output_catches_up_in_order_after_the_store_was_down(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl, s3: Any) -> None:
    server = Restartable()
    server.start()
    try:
        settings = {"aws_endpoint_url": server.url, "aws_region": "us-east-1"}
        shared = SharedStore(store_url, Bucket(store_url, settings))
        a = SessionStore(tmp_path / "a" / "sessions", shared=shared).create(mini, operator="a")
        command = 'for i in $(seq 1 30); do echo "line $i of a long run"; sleep 0.2; done'
        handle = start_run(a.dir / "runs", command, run_id="pre.db-backup-offline",
                           share=run_upload.settings(shared, a.id))
        runs = handle.log_path.parent
        _wait(lambda: (run_upload.read_status(runs, handle.run_id) or {}).get("chunks", 0)
              or _objects(s3, _run_prefix(a.id, handle.run_id) + "log/"),
              "a first chunk goes up")
        server.stop()
        _wait(lambda: (run_upload.read_status(runs, handle.run_id) or {}).get("state")
              == "offline", "the uploader notices the store is gone")
        time.sleep(2.0)  # output goes on meanwhile
        server.start()
        _wait(lambda: _exit_landed(s3, a.id, handle.run_id), "the exit record, once back", 180)
        prefix = _run_prefix(a.id, handle.run_id)
        objects = _objects(s3, prefix)
        assert b"".join(_chunks(objects, prefix)) == handle.log_path.read_bytes()
        lines = handle.log_path.read_text().splitlines()
        assert lines == [f"line {i} of a long run" for i in range(1, 31)]
        _wait(lambda: run_upload.read_status(runs, handle.run_id)["state"] == "done",
              "the uploader ends")
        a.close()
    finally:
        server.stop()


def test_the_uploader_gives_up_after_a_bounded_time_and_says_so(
        tmp_path: Path, mini: Checklist, store_url: StoreUrl) -> None:
    server = Restartable()
    server.start()
    settings = {"aws_endpoint_url": server.url, "aws_region": "us-east-1"}
    shared = SharedStore(store_url, Bucket(store_url, settings))
    server.stop()  # the store never answers this run
    runs = tmp_path / "runs"
    handle = start_run(runs, 'echo "not held up; share=${RSDEPLOY_RUN_SHARE:-none}"',
                       run_id="r-give-up",
                       share={**run_upload.settings(shared, "s-1"), "give_up_s": 1.0})
    status = _wait(lambda: (s := run_upload.read_status(runs, handle.run_id)) and
                   s["state"] == "gave_up" and s, "the uploader gives up", 60)
    assert "local files are the record" in status["error"]
    assert (runs / "r-give-up.exit").exists()  # the run ended on its own time
    assert json.loads((runs / "r-give-up.exit").read_text())["exit_code"] == 0
    # the store's settings are the uploader's, never the command's
    assert (runs / "r-give-up.log").read_text() == "not held up; share=none\n"


async def test_a_flipped_byte_in_a_chunk_is_a_located_error_and_never_an_end(
        app_on_a: Callable[[str], dict[str, str]], machine: Machine, mini: Checklist,
        s3: Any, store_url: StoreUrl) -> None:
    run = app_on_a("echo first part of the output\nsleep 1.5\necho second part")
    _wait(lambda: _exit_landed(s3, run["session"], run["run"]), "the run's end is up")
    key = _run_prefix(run["session"], run["run"]) + "log/00000001"
    got = s3.get_object(Bucket=BUCKET, Key=key)
    body = bytearray(got["Body"].read())
    body[2] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(body), Metadata=got["Metadata"])
    mirror = RunMirror(Bucket(store_url), run["session"], run["run"],
                       Path(run["log"]).parent / "b-copy")
    mirror.reset()
    with pytest.raises(SharedRunDamaged) as raised:
        mirror.poll()
    assert f"s3://{BUCKET}/{key}" in raised.value.message and not mirror.complete
    b = machine("b").open(run["session"], operator="bob", take_over=True)
    app = make_app(mini, b, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: any(key in n.message for n in app._notifications),
                     "machine b names the damaged object")
        shown = app.screen.run_output.runs[run["run"]]
        assert "damaged" in shown.status and not shown.status.startswith("exit")
        await pilot.pause(1.5)
    assert not any(e.kind == "command_finished" for e in b.events)
    b.close()


async def test_a_run_whose_machine_is_gone_stays_running_with_its_last_output_time(
        machine: Machine, mini: Checklist, store_url: StoreUrl, tmp_path: Path) -> None:
    a = machine("a").create(mini, operator="ana")
    run_id = "pre.db-backup-gone"
    # what a's uploader had put when its machine vanished: meta and one chunk, no exit
    bucket = Bucket(store_url)
    started = (datetime.now(UTC) - timedelta(minutes=12)).isoformat()
    meta = json.dumps({"run": run_id, "pid": 4242, "host": "bastion-a", "started": started,
                       "command": "pg_dump ..."}).encode()
    run_objects.put_once(bucket, run_objects.meta_key(bucket, a.id, run_id), meta,
                         run_objects.sha_meta(meta))
    chunk = b"dumping table orders\n"
    at = (datetime.now(UTC) - timedelta(minutes=7, seconds=5)).isoformat()
    run_objects.put_once(bucket, run_objects.chunk_key(bucket, a.id, run_id, 1), chunk,
                         run_objects.sha_meta(chunk, offset="0", at=at))
    a.record("command_started", QID, run=run_id, command="pg_dump ...", pid=4242,
             log=str(tmp_path / "elsewhere" / "runs" / f"{run_id}.log"))
    assert a.shared.wait_uploaded(60)
    a.close()  # machine a is gone
    b = machine("b").open(a.id, operator="bob", take_over=True)
    app = make_app(mini, b, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        output = app.screen.run_output

        def detail() -> str:
            return app.screen._panes["phase-pre"].detail.shown_text  # noqa: SLF001

        # the status, the mirrored output and the detail panel arrive in separate steps
        await _until(pilot, lambda: run_id in output.runs
                     and "last output" in output.runs[run_id].status
                     and "dumping table orders" in output.plain_lines()
                     and "last output" in detail(),
                     "machine b says when machine a last sent output")
        assert output.runs[run_id].status == "running on bastion-a · last output 7 min ago"
        assert "Running on bastion-a · last output 7 min ago" in detail()
        await pilot.pause(2.5)  # several polls: still not ended
        assert b.state(mini).items[QID].state == "running"
    assert not any(e.kind == "command_finished" for e in b.events)
    b.close()
    # the launch question's details (another "rsdeploy-tui" on machine b) say so too
    viewer = machine("b").open(a.id, operator="cal", read_only=True)
    shown = details_text(viewer, mini, datetime.now(UTC)).plain
    assert "(its output is in the shared store)" in shown and "ended while away" not in shown


HOLDER_CHECKLIST = """\
name: Shared run by the holder
phases:
  - id: work
    title: Work
    sections:
      - id: main
        title: Main
        items:
          - id: slow
            text: A run of the holder's own
            command: >-
              echo out-$((6*7)); for i in $(seq 1 12); do sleep 0.3; echo tick-$i; done
"""


async def test_a_run_started_with_r_shares_its_output_and_says_when_the_store_is_down(
        tmp_path: Path, store_url: StoreUrl, s3: Any) -> None:
    path = tmp_path / "holder.yaml"
    path.write_text(HOLDER_CHECKLIST, encoding="utf-8")
    checklist = load_checklist(path)
    server = Restartable()
    server.start()
    try:
        settings = {"aws_endpoint_url": server.url, "aws_region": "us-east-1"}
        shared = SharedStore(store_url, Bucket(store_url, settings))
        holder = SessionStore(tmp_path / "a" / "sessions", shared=shared).create(
            checklist, operator="ana")
        assert holder.shared.wait_uploaded(60)
        app = make_app(checklist, holder, use_git=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            server.stop()
            await pilot.press("r")
            output = app.screen.run_output
            await _until(pilot, lambda: any("Output not in the shared store yet" in line
                                            for line in output.plain_lines()),
                         "the run view says its output is not shared yet")
            assert "out-42" in output.plain_lines()
            server.start()
            await _until(pilot, lambda: any(e.kind == "command_finished"
                                            for e in holder.events),
                         "the holder records its own run's end")
            [run] = holder.state(checklist).items["work.slow"].runs
            assert run.exit_code == 0
            _wait(lambda: _exit_landed(s3, holder.id, run.run), "its exit reaches the store")
        prefix = _run_prefix(holder.id, run.run)
        local = Path(str(run.log)).read_bytes()
        assert b"".join(_chunks(_objects(s3, prefix), prefix)) == local
        assert b"tick-12" in local
        holder.close()
    finally:
        server.stop()
