"""End to end in tmux: an interactive item gets the real terminal (App.suspend), reads what the
operator types, and its exit code lands in the stored session when the app comes back."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, cli, need_tmux

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CHECKLIST = """\
name: Interactive e2e
phases:
  - id: work
    title: Work
    sections:
      - id: main
        title: Main
        items:
          - id: ask
            text: Ask the operator for a word
            interactive: true
            command: >-
              printf 'Type-%s: ' word-$((6*7)); read -r word; echo "$word" > {answer};
              echo "you typed <$word>"; exit $${{#word}}
"""
# The prompt as the shell prints it; not in the command's text, which the app shows.
PROMPT = "Type-word-42:"  # (tmux drops the trailing space)


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(100, 32)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def ask_runs(session_id: str, env: dict[str, str]) -> list[dict[str, object]]:
    shown = cli("show", session_id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    row = next(r for r in json.loads(shown.stdout)["items"] if r["id"] == "work.ask")
    return row["runs"]  # type: ignore[no-any-return]


def test_interactive_item_reads_the_terminal_and_records_its_exit(
    screen: TmuxScreen, tmp_path: Path
) -> None:
    answer = tmp_path / "answer.txt"
    checklist = tmp_path / "interactive.yaml"
    checklist.write_text(CHECKLIST.format(answer=answer), encoding="utf-8")
    env = app_env(tmp_path / "state", tmp_path / "config")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    screen.start(
        [sys.executable, "-m", "rsdeploy_tui", "--checklist", str(checklist), "--operator", "ana"],
        env,
    )
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "Ask the operator" in t and "New deployment" not in t,
                    what="the runbook")
    assert PROMPT not in screen.text()
    session_id = json.loads(cli("sessions", "--json", env=env).stdout)[0]["id"]

    screen.keys("r")
    # The app hands the terminal over: the runbook is gone, the command's prompt is there.
    screen.wait_for(lambda t: PROMPT in t and "Ask the operator" not in t,
                    what="the command's prompt on the bare terminal")
    [started] = ask_runs(session_id, env)
    assert started["finished"] is None
    screen.tmux("send-keys", "-t", screen.session, "-l", "abcde")
    screen.keys("Enter")

    # Back in the app, which recorded the exit code the command computed from the typed word.
    # (the run view then keeps the last lines the terminal showed, the prompt among them, so
    # the app's own footer and the exit line say it is back, not the prompt's absence)
    screen.wait_for(lambda t: "Ask the operator" in t and "q Quit" in t and "exit 5" in t
                    and "you typed <abcde>" in t,
                    what="the app back on the terminal, with what the command printed")
    deadline = time.monotonic() + 30
    while ask_runs(session_id, env)[-1]["finished"] is None:
        assert time.monotonic() < deadline, "the interactive run's end was never recorded"
        time.sleep(0.1)
    [run] = ask_runs(session_id, env)
    assert run["exit_code"] == 5, run
    assert answer.read_text(encoding="utf-8") == "abcde\n"
    screen.keys("q")
