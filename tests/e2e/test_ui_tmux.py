"""End to end in a real terminal (tmux): a burst into the filter box, and a resume after kill -9
landing on the item that is still running."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, cli, need_tmux

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PROGRESS = re.compile(r"(\d+)/(\d+) done")

CHECKLIST = textwrap.dedent("""\
    name: Landing test
    phases:
      - id: p1
        title: First
        items:
          - {id: a, text: First manual step}
          - {id: b, text: Second manual step}
          - id: slow
            text: A long command
            help: SLOW-ITEM-HELP shown only when this item is highlighted
            command: sleep 120
      - id: p2
        title: Second
        items:
          - {id: c, text: Later step}
    """)


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(100, 32)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield app_env(tmp_path / "state", tmp_path / "config")
    # a failed test must not leave its detached `sleep` behind
    from rsdeploy_tui.runner import cancel_run, run_status

    for meta in (tmp_path / "state").glob("sessions/*/runs/*.json"):
        if meta.name.endswith(".action.json"):
            continue
        if run_status(meta.parent, meta.stem).running:
            cancel_run(meta.parent, meta.stem, grace=0.5)


def done_count(text: str) -> int:
    found = PROGRESS.search(text)
    return int(found.group(1)) if found else -1


def shown_session(env: dict[str, str]) -> dict[str, object]:
    sessions = json.loads(cli("sessions", "--json", env=env).stdout)
    return json.loads(cli("show", sessions[0]["id"], "--json", env=env).stdout)


def test_keys_typed_right_after_slash_go_into_the_filter(
    screen: TmuxScreen, env: dict[str, str]
) -> None:
    """`/health` became `ealth` three times of three: now `/secret<Enter><Space>` in one write
    filters on `secret` and ticks the first match."""
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"], env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: done_count(t) == 0 and "New deployment" not in t, what="runbook")
    screen.tmux("send-keys", "-t", screen.session, "-l", "/secret\r ")
    text = screen.wait_for(lambda t: done_count(t) == 1, what="the tick after the filter")
    assert "secret" in text and "ecret " not in text.replace("secret", "")
    items = shown_session(env)["items"]
    assert isinstance(items, list)
    (done,) = [row for row in items if row["state"] == "done"]
    assert "secret" in f"{done['id']} {done['text']}".lower(), done
    screen.keys("q")


def test_resume_after_kill_lands_on_the_running_item(
    screen: TmuxScreen, env: dict[str, str], tmp_path: Path
) -> None:
    checklist = tmp_path / "landing.yaml"
    checklist.write_text(CHECKLIST)
    argv = [sys.executable, "-m", "rsdeploy_tui", "--checklist", str(checklist),
            "--operator", "ana"]
    screen.start(argv, env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "First manual step" in t and "New deployment" not in t,
                    what="the runbook")
    screen.keys("Down", "Down")
    screen.wait_for(lambda t: "SLOW-ITEM-HELP" in t, what="the slow item highlighted")
    screen.keys("r")
    screen.wait_for(lambda t: "[~]" in t, what="the command running")
    screen.keys("Up", "Up")  # the cursor leaves it, then the app dies without a word
    screen.wait_for(lambda t: "SLOW-ITEM-HELP" not in t, what="the cursor moved away")
    pid = screen.pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    screen.kill_session()

    screen.start([sys.executable, "-m", "rsdeploy_tui", "resume", "--checklist",
                  str(checklist)], env)
    text = screen.wait_for(lambda t: "[~]" in t and "SLOW-ITEM-HELP" in t, timeout=30,
                           what="the resumed runbook on the running item")
    assert "A long command" in text
    screen.keys("x")  # cancel the sleep: nothing outlives the test
    screen.wait_for(lambda t: "(y)" in t, what="the cancel question")
    screen.keys("y")
    screen.wait_for(lambda t: "[~]" not in t, timeout=30, what="the run cancelled")
    rows = {row["id"]: row for row in shown_session(env)["items"]}  # type: ignore[union-attr]
    assert rows["p1.slow"]["state"] != "running"
    screen.keys("q")


def start_before_a_shell_read(screen: TmuxScreen, env: dict[str, str], tmp_path: Path) -> None:
    """The app on a small checklist, then a shell that reads one line (whatever was typed
    after q) and prints it as ``GOT:<line>``; returns with the runbook on screen."""
    checklist = tmp_path / "landing.yaml"
    checklist.write_text(CHECKLIST)
    app = shlex.join([sys.executable, "-m", "rsdeploy_tui", "--checklist", str(checklist),
                      "--operator", "ana"])
    screen.start(["bash", "--norc", "-c", f"{app}; read -r line; echo \"GOT:$line\"; sleep 60"],
                 env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "First manual step" in t and "New deployment" not in t,
                    what="the runbook")


def test_keys_typed_after_q_reach_the_shell(
    screen: TmuxScreen, env: dict[str, str], tmp_path: Path
) -> None:
    """Keys typed while the app was leaving (`rsdeploy-tui show` right after `q`) were
    swallowed: read by the app, then flushed. Now the app stops reading at `q`."""
    start_before_a_shell_read(screen, env, tmp_path)
    screen.keys("Down")  # so that q records where the cursor is (the sign q was handled)
    screen.wait_for(lambda t: "Second manual step" in t, what="the cursor moved")
    (journal,) = (tmp_path / "state").glob("sessions/*/events.jsonl")
    screen.keys("q")
    deadline = time.monotonic() + 30
    while not re.search(r'"kind":\s*"cursor"', journal.read_text()):
        assert time.monotonic() < deadline, "q was not handled"
        time.sleep(0.02)
    # the app has stopped reading the terminal before it records the cursor: type now
    screen.tmux("send-keys", "-t", screen.session, "-l", "typed-after-q")
    screen.keys("Enter")
    screen.wait_for(lambda t: "GOT:typed-after-q" in t, what="the shell reading the keys")


def test_keys_in_the_same_burst_as_q_reach_the_shell(
    screen: TmuxScreen, env: dict[str, str], tmp_path: Path
) -> None:
    """`q` and the next command arriving in one read (a paste, tmux, a laggy link): the app
    had taken them off the terminal already, and they were lost. Now it hands them back."""
    start_before_a_shell_read(screen, env, tmp_path)
    # one send-keys: q, the words and Enter reach the app in one read
    screen.tmux("send-keys", "-t", screen.session, "-l", "qsame-burst words\r")
    text = screen.wait_for(lambda t: "GOT:" in t, what="the shell reading a line")
    assert "GOT:same-burst words" in text, text
