"""A read-only viewer on another "machine", in a real terminal, sees the holder's tick (#18).

The holder is this test process (machine a); the viewer is `rsdeploy-tui --store ... resume ID
--read-only` in tmux with its own state dir (machine b), both on one moto store. And a run
started with `r` on machine a's app, kill -9'd, is watched to its end on machine b.
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
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
BUCKET = "rsdeploy-shared-e2e"


@pytest.fixture
def second_screen() -> Iterator[TmuxScreen]:
    """Machine b's terminal, beside machine a's."""
    need_tmux()
    term = TmuxScreen(110, 34)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(110, 34)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def test_a_viewer_on_another_machine_sees_the_tick_without_a_key(
        screen: TmuxScreen, tmp_path: Path, aws_env: object) -> None:
    aws_env.create_bucket(BUCKET)  # type: ignore[attr-defined]
    url = f"s3://{BUCKET}/team"
    holder_store = SessionStore(tmp_path / "a" / "sessions",
                                shared=SharedStore(parse_store_url(url, "test")))
    checklist = load_checklist(None)
    holder = holder_store.create(checklist, operator="ana")
    assert holder.shared.wait_uploaded(60)
    first = list(checklist.iter_items())[1]  # not the highlighted one: its text is in the detail
    label = first.text[:25]
    env = {**app_env(tmp_path / "b" / "state", tmp_path / "b" / "config"),
           **aws_env.env()}  # type: ignore[attr-defined]
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--store", url, "resume", holder.id,
                  "--read-only", "--operator", "bob"], env)
    # the banner can be drawn a frame before the list's rows: wait for the row too
    shown = screen.wait_for(lambda t: "READ-ONLY" in t and "shared: viewing" in t
                            and any(label in row for row in t.splitlines()),
                            timeout=120, what="machine b's read-only runbook")
    line = next(row for row in shown.splitlines() if label in row)
    assert "[ ]" in line
    holder.record("tick", first.qid)  # on machine a; nothing is pressed on machine b
    screen.wait_for(lambda t: any(label in row and "[x]" in row
                                  for row in t.splitlines()),
                    timeout=120, what="machine b shows the tick made on machine a")
    screen.keys("q")
    holder.close()


RUNS_CHECKLIST = """\
name: Shared run e2e
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
            text: A slow command on machine a
            command: >-
              echo before-the-flag-$((6*7)); while [ ! -e {flag} ]; do sleep 0.1; done;
              echo after-the-flag-$((6*7)); exit $((1+2))
"""
# printed by the shell: none of these is in the command's text, which the detail panel shows
BEFORE, AFTER, EXIT = "before-the-flag-42", "after-the-flag-42", "exit 3"


def _shared_show(url: str, session_id: str, env: dict[str, str]) -> dict[str, object]:
    result = cli("--store", url, "show", session_id, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _slow_runs(doc: dict[str, object]) -> list[dict[str, object]]:
    rows = [row for row in doc["items"] if row["id"] == "work.slow"]  # type: ignore[index,union-attr]
    return rows[0]["runs"]  # type: ignore[index,no-any-return]


def test_a_run_of_a_killed_app_is_watched_to_its_end_on_another_machine(
        screen: TmuxScreen, second_screen: TmuxScreen, tmp_path: Path,
        aws_env: object) -> None:
    aws_env.create_bucket(BUCKET)  # type: ignore[attr-defined]
    url = f"s3://{BUCKET}/team"
    flag = tmp_path / "flag"
    checklist = tmp_path / "runs.yaml"
    checklist.write_text(RUNS_CHECKLIST.format(flag=flag), encoding="utf-8")
    aws = aws_env.env()  # type: ignore[attr-defined]
    env_a = {**app_env(tmp_path / "a" / "state", tmp_path / "a" / "config"), **aws}
    env_b = {**app_env(tmp_path / "b" / "state", tmp_path / "b" / "config"), **aws}
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--store", url, "--checklist",
                  str(checklist), "--operator", "ana"], env_a)
    screen.wait_for(lambda t: "New deployment" in t, timeout=120,
                    what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "A slow command" in t and "[ ]" in t and "New deployment" not in t,
                    timeout=60, what="machine a's runbook")
    screen.keys("r")
    screen.wait_for(lambda t: BEFORE in t, timeout=60, what="the run's output on machine a")
    [row] = json.loads(cli("--store", url, "sessions", "--json", env=env_b).stdout)
    session_id = row["id"]
    deadline = time.monotonic() + 60  # its start is in the store (uploaded in the background)
    while not _slow_runs(_shared_show(url, session_id, env_b)):
        assert time.monotonic() < deadline, "the run's start never reached the store"
        time.sleep(0.2)
    os.kill(screen.pid(), signal.SIGKILL)  # machine a's app is gone; its run's wrapper is not
    screen.kill_session()

    second_screen.start([sys.executable, "-m", "rsdeploy_tui", "--store", url, "resume",
                         session_id, "--take-over", "--operator", "bob"], env_b)
    shown = second_screen.wait_for(lambda t: BEFORE in t and "running on" in t, timeout=120,
                                   what="machine b shows a's run going on, with its output")
    assert AFTER not in shown and EXIT not in shown
    flag.touch()
    second_screen.wait_for(lambda t: AFTER in t and EXIT in t, timeout=120,
                           what="machine b shows the rest of the output and the exit")
    journal = tmp_path / "b" / "state" / "sessions" / session_id / "events.jsonl"
    deadline = time.monotonic() + 30
    while b'"command_finished"' not in journal.read_bytes():
        assert time.monotonic() < deadline, "machine b never recorded the run's end"
        time.sleep(0.1)
    [finished] = [json.loads(line) for line in journal.read_text().splitlines()
                  if '"command_finished"' in line]
    assert finished["operator"] == "bob" and finished["data"]["exit_code"] == 3
    assert AFTER in finished["data"]["tail"]
    second_screen.keys("q")
