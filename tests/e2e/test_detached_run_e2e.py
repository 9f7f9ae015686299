"""End to end in tmux: a command started with `r` outlives `kill -9` of the app and is re-attached.

Start a slow command, SIGKILL the app, check the command still runs, relaunch with `resume`: the
run is re-attached (its output so far on screen), and when it ends its exit code is recorded.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, cli, need_tmux

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CHECKLIST = """\
name: Detached run e2e
vars:
  eb_env: e2e-prod
phases:
  - id: work
    title: Work
    sections:
      - id: main
        title: Main
        items:
          - id: slow
            text: A slow command
            command: >-
              echo waiting-for-flag-$((6*7)); while [ ! -e {flag} ]; do sleep 0.1; done;
              echo flag-seen-$((6*7)); exit $((1+2))
"""
# What the command prints and how it ends, computed by the shell: none of these strings is in the
# command's own text, which the detail panel shows before anything runs (so a wait on the screen
# cannot be satisfied by the panel).
WAITING, SEEN, EXIT = "waiting-for-flag-42", "flag-seen-42", "exit 3"


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(100, 32)
    yield term
    term.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def show(session_id: str, env: dict[str, str]) -> dict[str, object]:
    result = cli("show", session_id, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def slow_runs(doc: dict[str, object]) -> list[dict[str, object]]:
    rows = [row for row in doc["items"] if row["id"] == "work.slow"]  # type: ignore[index,union-attr]
    return rows[0]["runs"]  # type: ignore[index,no-any-return]


def test_run_survives_kill_and_is_reattached_on_resume(screen: TmuxScreen, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    checklist = tmp_path / "e2e.yaml"
    checklist.write_text(CHECKLIST.format(flag=flag), encoding="utf-8")
    env = app_env(tmp_path / "state", tmp_path / "config")
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # the banner must never ask a real network
    screen.start(
        [sys.executable, "-m", "rsdeploy_tui", "--checklist", str(checklist), "--operator", "ana"],
        env,
    )
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    # The runbook is drawn behind the (centred) modal: wait until the modal is gone.
    screen.wait_for(lambda t: "A slow command" in t and "[ ]" in t and "New deployment" not in t,
                    what="the runbook")
    assert WAITING not in screen.text() and EXIT not in screen.text()
    screen.keys("r")
    screen.wait_for(lambda t: WAITING in t, what="the command's output")

    sessions = json.loads(cli("sessions", "--json", env=env).stdout)
    session_id = sessions[0]["id"]
    # The detail panel shows the command text (which contains "waiting-for-flag") before the
    # run is recorded, so under load the screen alone does not prove the start is on disk.
    deadline = time.monotonic() + 20
    while not slow_runs(show(session_id, env)) and time.monotonic() < deadline:
        time.sleep(0.1)
    run = slow_runs(show(session_id, env))[-1]
    assert run["finished"] is None
    run_dir = tmp_path / "state" / "sessions" / session_id / "runs"
    wrapper = json.loads((run_dir / f"{run['run']}.json").read_text(encoding="utf-8"))
    assert (run_dir / f"{run['run']}.log").read_text(encoding="utf-8").splitlines() == [WAITING]

    app_pid = screen.pid()
    os.kill(app_pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while alive(app_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(app_pid)
    screen.kill_session()
    # The command runs on without the app (and without the terminal): it is alive now, and it
    # prints SEEN below only after the flag, which is touched after the resume.
    assert alive(int(wrapper["pid"])), "the detached command died with the app"
    assert not (run_dir / f"{run['run']}.exit").exists()

    screen.start([sys.executable, "-m", "rsdeploy_tui", "resume"], env)
    screen.wait_for(
        lambda t: WAITING in t and "running" in t, what="the output so far, still running"
    )
    assert SEEN not in screen.text()
    assert slow_runs(show(session_id, env))[-1]["finished"] is None
    flag.touch()
    screen.wait_for(lambda t: SEEN in t and EXIT in t, what="the live output and the end")
    # The stored record: the exit code of the run the resumed app re-attached to.
    deadline = time.monotonic() + 30
    while slow_runs(show(session_id, env))[-1]["finished"] is None:
        assert time.monotonic() < deadline, "the run's end was never recorded"
        time.sleep(0.1)
    run = slow_runs(show(session_id, env))[-1]
    assert run["exit_code"] == 3 and run["finished"], run
    assert (run_dir / f"{run['run']}.log").read_text(encoding="utf-8").splitlines() == [
        WAITING, SEEN]
    doc = show(session_id, env)
    row = next(r for r in doc["items"] if r["id"] == "work.slow")  # type: ignore[union-attr]
    assert row["state"] == "failed"
    screen.keys("q")
