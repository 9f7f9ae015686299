"""End to end in tmux (#14): a value set in the app (v) and one given to ``resume --set`` stay set
through two more resumes, the app killed (-9) between launches; a plain resume by the same login
keeps the operator name it used (``--operator deployer``), and the quit hint says it."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, cli, need_tmux

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROGRESS = re.compile(r"(\d+)/(\d+) done")


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(110, 34)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def values_of(env: dict[str, str], session_id: str) -> dict[str, dict[str, str]]:
    done = cli("values", session_id, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)["values"]}


def wait_value(env: dict[str, str], session_id: str, name: str, value: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if values_of(env, session_id).get(name, {}).get("value") == value:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {value!r}: {values_of(env, session_id)}")


def kill_app(screen: TmuxScreen) -> None:
    pid = screen.pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
        except OSError:
            break
        time.sleep(0.1)
    screen.kill_session()


def launch_events(state: Path, session_id: str) -> list[dict[str, object]]:
    lines = (state / "sessions" / session_id / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines)
            if e["kind"] in ("session_created", "session_resumed", "lock_taken_over")]


def test_values_set_in_the_app_and_by_resume_survive_resumes_and_the_operator_is_kept(
        screen: TmuxScreen, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = app_env(state, tmp_path / "config")  # login: USER=ana
    app = [sys.executable, "-m", "rsdeploy_tui"]

    screen.start([*app, "--operator", "deployer"], env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.tmux("send-keys", "-t", screen.session, "-l", "v1.4.2\t14\r")
    screen.wait_for(lambda t: "New deployment" not in t and PROGRESS.search(t), what="runbook")
    session_id = json.loads(cli("sessions", "--json", env=env).stdout)[0]["id"]
    screen.keys("v")
    screen.wait_for(lambda t: "Set a value for this session" in t, what="the set-value dialog")
    screen.tmux("send-keys", "-t", screen.session, "-l", "previous_tag\r")
    time.sleep(0.3)
    screen.tmux("send-keys", "-t", screen.session, "-l", "v1.4.1\r")
    wait_value(env, session_id, "previous_tag", "v1.4.1")
    kill_app(screen)

    # resume --set records the value (it is not a one-launch override); no --operator given.
    screen.start([*app, "resume", "--set", "rollback_app=repairs"], env)
    screen.wait_for(lambda t: PROGRESS.search(t) is not None, what="the resumed runbook")
    wait_value(env, session_id, "rollback_app", "repairs")
    kill_app(screen)

    hint = tmp_path / "stdout.txt"  # the app draws on stderr; the resume hint goes to stdout
    for launch in (1, 2):  # two further plain resumes, the first one killed
        argv = [*app, "resume"] if launch == 1 else \
            ["sh", "-c", f'exec "$0" "$@" > {hint}', *app, "resume"]
        screen.start(argv, env)
        text = screen.wait_for(lambda t: PROGRESS.search(t) is not None,
                               what=f"resume {launch}")
        assert "(started by deployer)" not in text
        values = values_of(env, session_id)
        assert values["previous_tag"]["value"] == "v1.4.1"
        assert values["previous_tag"]["source"] == "set"
        assert "set by deployer" in values["previous_tag"]["detail"]
        assert values["rollback_app"]["value"] == "repairs"
        assert values["rollback_app"]["source"] == "set"
        assert values["version"]["value"] == "v1.4.2" and values["version"]["source"] == "fact"
        if launch == 1:
            kill_app(screen)

    launches = launch_events(state, session_id)
    assert [e["operator"] for e in launches] == ["deployer"] * 4, launches
    screen.keys("q")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "Resume with" not in (
            hint.read_text() if hint.exists() else ""):
        time.sleep(0.1)
    assert f"rsdeploy-tui resume {session_id} --operator deployer" in hint.read_text()
