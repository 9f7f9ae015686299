"""Detached runs: survive the app, record exit codes, cancel whole groups, keep secrets out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rsdeploy_tui.runner import (
    RunError,
    cancel_run,
    needs_terminal,
    read_meta,
    run_interactive,
    run_status,
    start_run,
    tail_lines,
    wait_run,
)
from rsdeploy_tui.runner.detached import group_members
from support.real_parts import need_proc

REPO = Path(__file__).resolve().parents[2]


def _procs_in_group(pgid: int) -> list[tuple[int, str]]:
    """Every process (zombies included) in a process group, as (pid, state)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[2] == str(pgid):
            found.append((int(entry), fields[0]))
    return found


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def test_exit_code_and_output_recorded(tmp_path: Path) -> None:
    handle = start_run(tmp_path, "echo hello; echo oops >&2; exit 3", run_id="r1")
    status = wait_run(tmp_path, "r1", timeout=10)
    assert status.running is False
    assert status.exit_code == 3
    assert status.ended_at
    assert handle.log_path.read_text() == "hello\noops\n"
    meta = read_meta(tmp_path, "r1")
    assert meta is not None and meta["pid"] == handle.pid and meta["pgid"] == handle.pid


def test_success_exit_zero_and_cwd_and_env(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    start_run(tmp_path, 'pwd; echo "$ITEM_VAR"', run_id="r2", cwd=work, env={"ITEM_VAR": "v42"})
    assert wait_run(tmp_path, "r2", timeout=10).exit_code == 0
    assert (tmp_path / "r2.log").read_text().splitlines() == [str(work), "v42"]


def test_stdin_is_devnull_and_own_session(tmp_path: Path) -> None:
    start_run(tmp_path, "cat; ps -o sid=,pgid= -p $$", run_id="r3")
    assert wait_run(tmp_path, "r3", timeout=10).exit_code == 0
    sid, pgid = (tmp_path / "r3.log").read_text().split()
    meta = read_meta(tmp_path, "r3")
    assert meta is not None
    assert int(sid) == int(pgid) == meta["pid"] != os.getsid(0)


def test_run_id_reuse_refused(tmp_path: Path) -> None:
    start_run(tmp_path, "true", run_id="same")
    wait_run(tmp_path, "same", timeout=10)
    with pytest.raises(RunError):
        start_run(tmp_path, "true", run_id="same")
    with pytest.raises(RunError):
        start_run(tmp_path, "true", run_id="../escape")


def test_run_survives_app_sigkill(tmp_path: Path) -> None:
    """The 'app' (a child python) starts a run and is SIGKILLed; the run completes anyway."""
    marker = tmp_path / "done.txt"
    go = tmp_path / "go"  # the run waits for it: still running when checked, however slow the CI
    app = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from rsdeploy_tui.runner import start_run
        h = start_run(Path({str(tmp_path)!r}),
                      "until [ -e {go} ]; do sleep 0.05; done; echo finished > {marker}; exit 7",
                      run_id="survivor")
        print(h.pid, flush=True)
        time.sleep(60)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-c", app], stdout=subprocess.PIPE, env=env, start_new_session=True
    )
    assert proc.stdout is not None
    wrapper_pid = int(proc.stdout.readline())
    # Kill the app and everything in its own process group, as a dropped SSH link would.
    os.killpg(proc.pid, signal.SIGHUP)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_status(tmp_path, "survivor").running is True
    go.touch()
    status = wait_run(tmp_path, "survivor", timeout=20)
    assert status.exit_code == 7
    assert status.pid == wrapper_pid
    assert marker.read_text() == "finished\n"
    exit_record = json.loads((tmp_path / "survivor.exit").read_text())
    assert exit_record["exit_code"] == 7 and exit_record["ended"]


def test_cancel_kills_whole_group_no_zombies(tmp_path: Path) -> None:
    need_proc()
    handle = start_run(tmp_path, "sleep 100 & sleep 100; wait", run_id="c1")
    deadline = time.monotonic() + 10
    while len(group_members(handle.pgid)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(handle.pgid)) == 4  # wrapper, bash, two sleeps
    outcome = cancel_run(tmp_path, "c1", grace=1.0)
    # Background jobs of a non-interactive bash ignore SIGINT: SIGTERM is what empties the group.
    assert outcome.signal == "SIGTERM"
    status = run_status(tmp_path, "c1")
    assert status.running is False and status.exit_code is not None and status.exit_code != 0
    _reap_all()  # the wrapper was adopted by this test process (see conftest)
    assert _procs_in_group(handle.pgid) == []


def test_cancel_escalates_to_sigkill(tmp_path: Path) -> None:
    need_proc()
    handle = start_run(
        tmp_path, "trap '' INT TERM; echo ready; while true; do sleep 0.1; done", run_id="c2"
    )
    deadline = time.monotonic() + 10
    while "ready" not in handle.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    outcome = cancel_run(tmp_path, "c2", grace=0.5)
    assert outcome.signal == "SIGKILL"
    assert outcome.exit_code == 137
    assert run_status(tmp_path, "c2").exit_code == 137
    _reap_all()
    assert _procs_in_group(handle.pgid) == []


def test_cancel_after_end_reports_nothing_sent(tmp_path: Path) -> None:
    start_run(tmp_path, "exit 0", run_id="c3")
    wait_run(tmp_path, "c3", timeout=10)
    outcome = cancel_run(tmp_path, "c3")
    assert outcome.signal is None and outcome.exit_code == 0


def test_secret_values_never_reach_the_log(tmp_path: Path) -> None:
    secret = "s3cr3t-Value-Xyz"
    command = (
        'echo "password=$DB_PASSWORD"; printf "%s" "$DB_PASSWORD" | fold -w 3; echo; '
        # The value arrives in two writes with a pause between: masked across reads.
        'printf "%s" "${DB_PASSWORD:0:5}"; sleep 0.1; printf "%s\\n" "${DB_PASSWORD:5}"'
    )
    handle = start_run(
        tmp_path,
        command,
        run_id="s1",
        env={"DB_PASSWORD": secret},
        secret_names=["DB_PASSWORD"],
    )
    assert wait_run(tmp_path, "s1", timeout=10).exit_code == 0
    log = handle.log_path.read_text()
    assert secret not in log
    assert "password=****" in log
    assert log.splitlines()[-1] == "****"
    assert secret not in (tmp_path / "s1.json").read_text()
    assert secret not in " ".join(Path(f"/proc/{os.getpid()}/cmdline").read_text().split("\0"))


def test_run_status_detects_lost_wrapper(tmp_path: Path) -> None:
    handle = start_run(tmp_path, "sleep 30", run_id="l1")
    os.killpg(handle.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while group_members(handle.pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    status = run_status(tmp_path, "l1")
    assert status.running is False and status.lost is True and status.exit_code is None
    _reap_all()


def test_pid_reuse_is_not_mistaken_for_the_run(tmp_path: Path) -> None:
    start_run(tmp_path, "exit 0", run_id="p1")
    wait_run(tmp_path, "p1", timeout=10)
    (tmp_path / "p1.exit").unlink()
    meta = json.loads((tmp_path / "p1.json").read_text())
    # Pretend the wrapper's pid now belongs to this (long-lived) test process.
    meta["pid"] = os.getpid()
    (tmp_path / "p1.json").write_text(json.dumps(meta))
    status = run_status(tmp_path, "p1")
    assert status.running is False and status.lost is True


def test_tail_lines_plain_text(tmp_path: Path) -> None:
    command = "for i in $(seq 1 500); do echo line $i; done; printf '\\e[31mred\\e[0m\\n'"
    start_run(tmp_path, command, run_id="t1")
    wait_run(tmp_path, "t1", timeout=10)
    assert tail_lines(tmp_path / "t1.log", 3) == ["line 499", "line 500", "red"]
    assert tail_lines(tmp_path / "t1.log", 1, keep_colour=True) == ["\x1b[31mred\x1b[0m"]
    assert tail_lines(tmp_path / "missing.log", 3) == []


def test_needs_terminal_heuristic() -> None:
    assert needs_terminal("eb ssh ${eb_env}")
    assert not needs_terminal("eb ssh prod -n 1 --command 'df -h'")
    assert needs_terminal("vim /etc/hosts")
    assert needs_terminal('PGPASSWORD="${DB_PASSWORD}" psql -h db -U app')
    assert not needs_terminal("psql -h db -c 'select 1'")
    assert not needs_terminal("pg_dump -Fc -f backup.dump app && ls -l backup.dump")
    assert needs_terminal("cd /srv && python manage.py shell")
    assert not needs_terminal("eb deploy prod --version v42")
    assert needs_terminal("eb health --refresh")
    assert needs_terminal("ssh -i ~/.ssh/key.pem -p 22 ec2-user@10.0.0.1")
    assert not needs_terminal("ssh -i ~/.ssh/key.pem ec2-user@10.0.0.1 df -h")


def test_run_interactive_returns_exit_code(tmp_path: Path) -> None:
    assert run_interactive("exit 5", {}, tmp_path) == 5
    assert run_interactive('test "$X" = y', {"X": "y"}, None) == 0


def test_secret_mask_across_reads_never_leaks_and_never_holds_whole_lines() -> None:
    from rsdeploy_tui.runner.wrapper import SecretMask

    secret = b"hunter2-very-secret"
    mask = SecretMask([secret, b"ab"])  # "ab" is too short to mask: ordinary text survives
    stream = b"start ab\nthe value is " + secret + b" ok\nlast line\npartial " + secret[:7]
    written = b""
    pending = b""
    for i in range(len(stream)):  # worst case: one byte per read
        out, pending = mask.feed(pending + stream[i : i + 1], final=False)
        written += out
        if stream[i : i + 1] == b"\n":
            # Complete lines go out at once: a quiet command still shows its last line.
            assert written.endswith(b"\n") and pending == b""
    assert secret not in written and secret[:7] not in written
    out, _ = mask.feed(pending, final=True)
    written += out
    assert written == b"start ab\nthe value is **** ok\nlast line\npartial " + secret[:7]
