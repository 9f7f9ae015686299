"""Backups with real parts: pg_dump of a throwaway PostgreSQL, upload to moto's S3, verification.

Every action runs as the app runs it: spec file, ``python -m rsdeploy_tui.actions`` started
detached by the runner, result collected and recorded as session facts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from backup_harness import BUCKET, Deployment, all_files

from rsdeploy_tui.actions import collect_result, describe_interrupted
from rsdeploy_tui.runner import wait_run


def s3(aws_env: Any) -> Any:
    return aws_env.client("s3")


@pytest.mark.parametrize(("ref", "fmt"), [("pre.db-backup", "custom"),
                                          ("deploy.db-backup-now", "plain")])
def test_backup_upload_then_verify_passes(deployment: Deployment, aws_env: Any, ref: str,
                                          fmt: str) -> None:
    prepared, _ = deployment.start(ref)
    result, code = deployment.finish(prepared)
    assert code == 0 and result.ok, result.summary
    facts = deployment.facts
    assert facts["backup_format"] == fmt
    assert facts["backup_bucket"] == BUCKET
    key = facts["backup_key"]
    # s3://<bucket>/<backup_prefix>/<session id>/<file>
    assert key == f"emergency/{deployment.session.id}/{facts['backup_file']}"
    body = s3(aws_env).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert len(body) == facts["backup_size"]
    assert hashlib.sha256(body).hexdigest() == facts["backup_sha256"]
    local = Path(facts["backup_path"])
    assert local.read_bytes() == body and local.parent == deployment.session.dir / "backups"
    assert not list(local.parent.glob("*.part"))
    log = deployment.log(prepared)
    assert "pg_dump: done" in log and "upload" in log and "100.0%" in log

    verify, code = deployment.run("deploy.verify-backup-integrity")
    assert code == 0 and verify.ok, verify.summary
    assert deployment.facts["backup_verified"] is True
    assert "sha256 matches" in verify.summary
    # That the item then ticks itself is the app's doing: test_verification_ticks_itself_in_the_app.


async def test_verification_ticks_itself_in_the_app(deployment: Deployment) -> None:
    """Run from the runbook (r), a passing verify_backup records a tick by itself: the event is
    in the stored session, after the run's successful end."""
    from rsdeploy_tui.app import make_app
    from rsdeploy_tui.session import SessionStore
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen

    async def wait_for(condition: Any, what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout  # generous: only keeps a broken build from hanging
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    qid = "deploy.verify-backup-integrity"
    result, code = deployment.run("pre.db-backup")
    assert code == 0, result.summary
    session = deployment.session
    for gate in ("pre.db-backup", "deploy.db-backup-now", "deploy.media-backup"):
        session.record("tick", item=gate)  # the deploy phase's gate, as the operator ticks it
    store = SessionStore(root=session.dir.parent)

    def stored_kinds() -> list[tuple[str, object]]:
        events = store.open(session.id, read_only=True).events
        return [(e.kind, e.data.get("exit_code")) for e in events if e.item == qid]

    app = make_app(deployment.checklist, session, use_git=False)
    async with app.run_test(size=(110, 34)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        await wait_for(lambda: screen.runs.ready, "the run controller")

        def on_item() -> bool:
            # The runbook places the cursor once after start-up: insist until it sticks.
            if screen.current_item is None or screen.current_item.qid != qid:
                screen.focus_item(screen.checklist.item(qid))
                return False
            return True

        await wait_for(on_item, f"the cursor on {qid}")
        assert stored_kinds() == []
        await pilot.press("r")
        await wait_for(lambda: ("tick", None) in stored_kinds(), "the tick of a passing check")
    kinds = [k for k in stored_kinds() if k[0] != "fact"]  # the action's facts come in between
    assert kinds == [("command_started", None), ("command_finished", 0), ("tick", None)]
    assert store.open(session.id, read_only=True).state().items[qid].state == "done"


def test_a_flipped_byte_in_s3_fails_verification(deployment: Deployment, aws_env: Any) -> None:
    result, code = deployment.run("pre.db-backup")
    assert code == 0, result.summary
    key = deployment.facts["backup_key"]
    client = s3(aws_env)
    body = bytearray(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    client.put_object(Bucket=BUCKET, Key=key, Body=bytes(body))

    verify, code = deployment.run("pre.backup-download-verified")
    assert code == 1 and not verify.ok
    assert "sha256" in verify.summary and "make a new backup" in verify.summary
    assert deployment.facts["backup_verified"] is False
    # the downloaded copy is not left lying around
    assert not list((deployment.session.dir / "backups").glob("*.part"))


@pytest.mark.parametrize("ref", ["pre.db-backup", "deploy.db-backup-now"])
def test_a_truncated_dump_fails_verification(deployment: Deployment, aws_env: Any,
                                             ref: str) -> None:
    """Size and sha256 facts match the truncated object: only the completeness proof catches it."""
    result, code = deployment.run(ref)
    assert code == 0, result.summary
    facts = deployment.facts
    body = Path(facts["backup_path"]).read_bytes()
    cut = body[: int(len(body) * 0.6)]
    s3(aws_env).put_object(Bucket=BUCKET, Key=facts["backup_key"], Body=cut)
    deployment.session.record("fact", name="backup_size", value=len(cut))
    deployment.session.record("fact", name="backup_sha256", value=hashlib.sha256(cut).hexdigest())

    verify, code = deployment.run("deploy.verify-backup-integrity")
    assert code == 1 and not verify.ok
    assert verify.summary.startswith("Backup incomplete"), verify.summary


@pytest.mark.parametrize("ref", ["pre.db-backup", "deploy.db-backup-now"])
def test_restore_into_a_scratch_database_gives_the_same_row_counts(
        deployment: Deployment, pg_db: Any, ref: str) -> None:
    assert deployment.run(ref)[1] == 0
    result, code = deployment.run("deploy.restore-check")
    assert code == 0 and result.ok, result.summary
    counts = deployment.facts["restore_row_counts"]
    assert counts == pg_db.seeded_counts == pg_db.row_counts()
    # the scratch database is gone afterwards
    names = {r[0] for r in pg_db.run_sql("SELECT datname FROM pg_database")}
    assert not [n for n in names if n.startswith("rsdeploy_restore_")]


def test_restore_check_reports_tables_that_differ(deployment: Deployment, pg_db: Any) -> None:
    assert deployment.run("pre.db-backup")[1] == 0
    pg_db.run_sql("DELETE FROM repairs WHERE id <= 10")
    result, code = deployment.run("deploy.restore-check")
    assert code == 1 and not result.ok
    assert "repairs: source 350, restored 360" in result.summary


def _slow_pg_dump(folder: Path, real: Path) -> Path:
    """A pg_dump that writes part of a real dump, then hangs (to be killed mid-way)."""
    folder.mkdir()
    script = folder / "pg_dump"
    script.write_text(f'#!/bin/sh\n"{real}" "$@" | head -c 4000\nexec sleep 60\n')
    script.chmod(0o755)
    return folder


def _pids_with(needle: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if needle.encode() in cmdline:
                found.append(int(entry))
    return found


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if stat[stat.rfind(")") + 2:].split()[2] == str(pgid):
                    members.append(int(entry))
    return members


def test_a_killed_backup_is_reported_with_its_partial_file(
        deployment: Deployment, pg_db: Any, tmp_path: Path) -> None:
    bindir = _slow_pg_dump(tmp_path / "slowbin", Path(pg_db.tool("pg_dump")))
    prepared, _ = deployment.start("pre.db-backup", env={"RSDEPLOY_PG_BINDIR": str(bindir)})
    part = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        parts = list((deployment.session.dir / "backups").glob("*.part"))
        if parts and parts[0].stat().st_size >= 4000:
            part = parts[0]
            break
        time.sleep(0.05)
    assert part is not None, "the backup never started writing"
    (action_pid,) = [p for p in _pids_with(str(prepared.spec_path))
                     if Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[1:3]
                     == [b"-m", b"rsdeploy_tui.actions"]]
    os.kill(action_pid, signal.SIGKILL)
    status = wait_run(prepared.run_dir, prepared.run_id, timeout=30)
    assert not status.running
    result = collect_result(prepared.run_dir, prepared.run_id)
    assert result is not None and result.interrupted and not result.ok
    text = describe_interrupted(prepared.run_dir, prepared.run_id)
    assert str(part) in text and "Partial files kept" in text and "interrupted" in text
    assert result.summary == text and str(part) in result.files
    assert part.exists()  # kept, not deleted
    assert "backup_key" not in deployment.facts
    for pid in _pids_with(str(bindir)):  # the orphaned slow pg_dump
        os.kill(pid, signal.SIGKILL)


def test_cancel_stops_the_backup_and_keeps_the_partial_file(
        deployment: Deployment, pg_db: Any, tmp_path: Path) -> None:
    from rsdeploy_tui.runner import cancel_run

    bindir = _slow_pg_dump(tmp_path / "slowbin", Path(pg_db.tool("pg_dump")))
    prepared, _ = deployment.start("deploy.db-backup-now",
                                   env={"RSDEPLOY_PG_BINDIR": str(bindir)})
    # The event that matters: the dump is mid-way (the slow pg_dump has written its 4000 bytes
    # into the partial file and hangs), not "some time has passed".
    deadline = time.monotonic() + 30
    while not [p for p in (deployment.session.dir / "backups").glob("*.part")
               if p.stat().st_size >= 4000]:
        assert time.monotonic() < deadline, "the backup never started writing"
        time.sleep(0.05)
    outcome = cancel_run(prepared.run_dir, prepared.run_id, grace=3.0)
    assert outcome.signal == "SIGINT"
    result = collect_result(prepared.run_dir, prepared.run_id)
    assert result is not None and result.cancelled and not result.ok
    assert "Partial files kept" in result.summary and ".part" in result.summary


def test_the_password_never_shows_in_process_listings_logs_or_files(
        deployment: Deployment, pg_db: Any, aws_env: Any, tmp_path: Path) -> None:
    password = pg_db.password
    real = Path(pg_db.tool("pg_dump"))
    # pg_dump (a shell passing its own arguments on to the real one) stays alive after dumping
    # until the test has read its command line: no race with a fixed linger time.
    bindir = tmp_path / "lingering"
    bindir.mkdir()
    release = tmp_path / "release"
    (bindir / "pg_dump").write_text(
        f'#!/bin/sh\n"{real}" "$@"\ncode=$?\n'
        f'while [ ! -e "{release}" ]; do sleep 0.05; done\nexit $code\n')
    (bindir / "pg_dump").chmod(0o755)
    prepared, handle = deployment.start("pre.db-backup",
                                        env={"RSDEPLOY_PG_BINDIR": str(bindir)})
    # Every process of the run: the runner's wrapper, the action, pg_dump (one process group).
    seen: list[bytes] = []

    def dumps() -> list[bytes]:
        return [c for c in seen if b"--format=custom" in c and pg_db.dbname.encode() in c]

    deadline = time.monotonic() + 60
    while not dumps():
        assert time.monotonic() < deadline, "pg_dump's command line was never seen"
        assert deployment.status(prepared).running, "the backup ended before pg_dump was seen"
        for pid in _group_members(handle.pgid):
            with contextlib.suppress(OSError):
                seen.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        time.sleep(0.05)
    release.touch()
    assert [c for c in seen if b"rsdeploy_tui.actions" in c]
    assert not [c for c in seen if password.encode() in c]
    result, code = deployment.finish(prepared)
    assert code == 0, result.summary
    assert deployment.run("pre.backup-download-verified")[1] == 0
    assert deployment.run("deploy.restore-check")[1] == 0
    written = list(all_files(deployment.session.dir, tmp_path / "state"))
    assert len(written) > 5
    for path in written:
        assert password.encode() not in path.read_bytes(), path
    # S3 objects too (metadata included)
    client = s3(aws_env)
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        head = client.head_object(Bucket=BUCKET, Key=obj["Key"])
        assert password not in str(head.get("Metadata"))


def test_a_failed_upload_keeps_the_local_dump_and_says_so(deployment: Deployment) -> None:
    deployment.vars["backup_bucket"] = "no-such-bucket"
    result, code = deployment.run("pre.db-backup")
    assert code == 1 and not result.ok
    assert "NoSuchBucket" in result.summary and "kept locally" in result.summary
    facts = deployment.facts
    assert Path(facts["backup_path"]).is_file() and facts["backup_size"] > 0
    assert "backup_key" not in facts  # nothing in S3: rollback must not pretend otherwise


def test_restore_check_downloads_the_backup_when_the_local_copy_is_gone(
        deployment: Deployment, pg_db: Any) -> None:
    assert deployment.run("pre.db-backup")[1] == 0
    Path(deployment.facts["backup_path"]).unlink()
    result, code = deployment.run("deploy.restore-check")
    assert code == 0, result.summary
    assert deployment.facts["restore_row_counts"] == pg_db.seeded_counts
    assert not list((deployment.session.dir / "backups").iterdir())  # the copy is removed


def test_facts_of_a_run_are_recorded_once_even_when_collected_again(
        deployment: Deployment) -> None:
    from rsdeploy_tui.actions import record_facts

    prepared, _ = deployment.start("pre.db-backup")
    result, code = deployment.finish(prepared)  # records the facts
    assert code == 0 and result.run_id == prepared.run_id
    before = len(deployment.session.events)
    again = collect_result(prepared.run_dir, prepared.run_id)  # e.g. on resume
    assert again is not None and record_facts(deployment.session, again) == 0
    assert len(deployment.session.events) == before
    recorded = [e for e in deployment.session.events if e.kind == "fact"]
    assert {e.data["run"] for e in recorded} == {prepared.run_id}
    assert {e.item for e in recorded} == {"pre.db-backup"}


def test_a_backup_outlives_the_app_that_started_it(deployment: Deployment) -> None:
    """The app (here a stand-in process) is SIGKILLed right after starting the backup."""
    import subprocess
    import sys

    from rsdeploy_tui.actions import prepare_action

    item = deployment.checklist.item("pre.db-backup")
    prepared = prepare_action(item, deployment.session, deployment.vars)
    launcher = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from rsdeploy_tui.runner import start_run\n"
        "start_run(Path(sys.argv[1]), sys.argv[2], run_id=sys.argv[3])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, **prepared.env}
    app = subprocess.run([sys.executable, "-c", launcher, str(prepared.run_dir),
                          prepared.command, prepared.run_id], env=env, timeout=60)
    assert app.returncode == -signal.SIGKILL
    status = wait_run(prepared.run_dir, prepared.run_id, timeout=60)
    assert status.exit_code == 0
    result = collect_result(prepared.run_dir, prepared.run_id)  # what the app does on resume
    assert result is not None and result.ok and result.facts["backup_key"]


def test_two_backups_in_one_session_keep_both_files(deployment: Deployment) -> None:
    from rsdeploy_tui.actions import prepare_action

    item = deployment.checklist.item("pre.db-backup")
    first = prepare_action(item, deployment.session, deployment.vars)
    # the first one is still writing (its .part exists) when the second is prepared
    import json

    from rsdeploy_tui.actions.common import backups_dir, dump_name

    spec = json.loads(first.spec_path.read_text())
    backups_dir(spec).mkdir(parents=True, exist_ok=True)
    (backups_dir(spec) / (dump_name(spec) + ".part")).write_bytes(b"partial")
    second = prepare_action(item, deployment.session, deployment.vars)
    name = dump_name(json.loads(second.spec_path.read_text()))
    assert name != dump_name(spec)
    assert not (backups_dir(spec) / name).exists()
    assert not (backups_dir(spec) / f"{name}.part").exists()
