"""Lease edge cases (#18): a holder on this host whose process is gone is not waited for; a
reused pid is not taken for the holder; another host's lease still waits for its expiry."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionLocked, SessionStore
from rsdeploy_tui.session.lock import process_start

BUCKET = "rsdeploy-shared"  # as in conftest.py
URL = f"s3://{BUCKET}/team"
MINI = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"
Machine = Callable[[str], SessionStore]

HOLDER = """
import sys, time
from pathlib import Path
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url
store = SessionStore(Path(sys.argv[1]), shared=SharedStore(parse_store_url(sys.argv[3], "t")))
s = store.create(load_checklist(Path(sys.argv[2])), operator="ana")
s.record("tick", "pre.db-backup")
assert s.shared.wait_uploaded(60)
print(s.id, flush=True)
time.sleep(600)
"""


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
            "RSDEPLOY_STATE_DIR": str(state), "RSDEPLOY_CONFIG_DIR": str(state / "config")}


def _holder_killed(tmp_path: Path, prefix: list[str]) -> tuple[str, int]:
    """A holder process on machine a (``prefix``: another host name or none): it creates a
    session, ticks, uploads, then is killed -9 (its lease is never released)."""
    holder = subprocess.Popen([*prefix, sys.executable, "-c", HOLDER,
                               str(tmp_path / "a" / "sessions"), str(MINI), URL],
                              env=_env(tmp_path / "a"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        session_id = holder.stdout.readline().strip()  # type: ignore[union-attr]
        assert session_id, holder.stderr.read()  # type: ignore[union-attr]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    return session_id, holder.pid


def _lease(s3: object, session_id: str) -> dict[str, object]:
    body = s3.get_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                         Key=f"team/sessions/{session_id}/lease")["Body"].read()
    return json.loads(body)


def _put_lease(s3: object, session_id: str, lease: dict[str, object]) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"team/sessions/{session_id}/lease",  # type: ignore[attr-defined]
                  Body=json.dumps(lease).encode())


def test_a_holder_gone_on_this_host_is_not_waited_for(
        tmp_path: Path, machine: Machine, mini: Checklist, s3: object) -> None:
    session_id, pid = _holder_killed(tmp_path, [])
    lease = _lease(s3, session_id)
    assert lease["host"] == socket.gethostname() and lease["pid"] == pid
    assert lease["proc_start"] and not lease["released"]  # live for another minute
    b = machine("b").open(session_id, operator="bob")  # no --take-over, no wait
    taken = b.events[-1]
    assert taken.kind == "lock_taken_over" and taken.data["lease"] == "expired"
    assert taken.data["from_user"] == "ana" and taken.data["from_pid"] == pid
    assert f"its process (pid {pid}) is gone" in taken.data["reason"]
    assert b.state(mini).items["pre.db-backup"].state == "done"
    assert _lease(s3, session_id)["holder"] == "bob"
    b.close()


def test_a_reused_pid_is_not_taken_for_the_holder(
        machine: Machine, mini: Checklist, s3: object) -> None:
    a = machine("a").create(mini, operator="ana")
    assert a.shared.wait_uploaded(60)
    session_id = a.id
    a.shared.lease.etag = None  # machine a "crashes": its lease stays as it was
    a.close()
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        lease = _lease(s3, session_id)
        # the lease names a pid that is running on this host, but it started later than the
        # holder did: another process has the number now
        lease.update(pid=sleeper.pid, proc_start="0000/1")
        _put_lease(s3, session_id, lease)
        b = machine("b").open(session_id, operator="bob")
        taken = b.events[-1]
        assert taken.kind == "lock_taken_over" and taken.data["lease"] == "expired"
        assert "another process" in taken.data["reason"]
        b.close()
        # the same pid with its own start time is a live holder: not taken without --take-over
        lease = _lease(s3, session_id)
        lease.update(holder="ana", pid=sleeper.pid, proc_start=process_start(sleeper.pid),
                     released=False, token="x",
                     expires=(datetime.now(UTC) + timedelta(seconds=60)).isoformat())
        _put_lease(s3, session_id, lease)
        with pytest.raises(SessionLocked) as refused:
            machine("c").open(session_id, operator="cal")
        assert refused.value.holder is not None and refused.value.holder.pid == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_another_hosts_lease_still_waits_for_its_expiry(
        tmp_path: Path, machine: Machine, other_host: Callable[[str], list[str]],
        s3: object) -> None:
    session_id, _pid = _holder_killed(tmp_path, other_host("machine-a"))
    lease = _lease(s3, session_id)
    assert lease["host"] == "machine-a"
    # its pid does not exist here either: that says nothing about a process on machine a
    with pytest.raises(SessionLocked) as refused:
        machine("b").open(session_id, operator="bob")
    assert "machine-a" in refused.value.message and "--take-over" in refused.value.message
