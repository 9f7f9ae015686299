"""End to end in a real terminal (tmux): tick, kill -9, resume; SIGHUP leaves nothing behind."""

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

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PROGRESS = re.compile(r"(\d+)/(\d+) done")


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(100, 32)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return app_env(tmp_path / "state", tmp_path / "config")


def done_count(text: str) -> int:
    found = PROGRESS.search(text)
    return int(found.group(1)) if found else -1


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose only once reaped; tmux reaps its children.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return status != "Z"


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def descendants(pid: int) -> list[int]:
    """Process ids whose parent chain leads to ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().split(")")[-1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def test_tick_kill_resume(screen: TmuxScreen, env: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"]
    screen.start(argv, env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    # The runbook is drawn behind the (centred) modal: wait until the modal is gone.
    first = screen.wait_for(lambda t: done_count(t) == 0 and "[ ]" in t
                            and "New deployment" not in t, what="the runbook")
    assert "Pre-Deployment" in first
    for expected in (1, 2, 3):
        screen.keys("Space")
        screen.wait_for(lambda t, n=expected: done_count(t) == n, what=f"{expected} done")

    pid = screen.pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    screen.kill_session()

    sessions = json.loads(cli("sessions", "--json", env=env).stdout)
    assert len(sessions) == 1 and sessions[0]["status"] == "active"
    session_id = sessions[0]["id"]

    screen.start([sys.executable, "-m", "rsdeploy_tui", "resume"], env, keep_after_exit=True)
    after = screen.wait_for(lambda t: done_count(t) == 3, what="the resumed runbook")
    assert after.count("[x]") == 3, after
    assert session_id in after

    shown = json.loads(cli("show", session_id, "--json", env=env).stdout)
    ticked = [row["id"] for row in shown["items"] if row["state"] == "done"]
    assert len(ticked) == 3
    assert all(row["by"] == "ana" for row in shown["items"] if row["state"] == "done")
    first_three = [row["id"] for row in shown["items"]][:3]
    assert ticked == first_three

    assert f"rsdeploy-tui resume {session_id}" not in after
    screen.keys("q")
    # The pane outlives the app (remain-on-exit): the hint it printed on leaving is readable.
    # (tmux marks the pane dead a moment before it has the exit status: wait for the status.)
    status = screen.wait_ended(30, what="the app to exit")
    assert status == 0
    hint = f"Session {session_id} is saved. Resume with: rsdeploy-tui resume {session_id}"
    assert hint in screen.text(history=True)


def test_a_burst_of_keys_is_not_lost(screen: TmuxScreen, env: dict[str, str]) -> None:
    """What a laggy SSH link does: ``s``, the reason and Enter, then ``n`` and a note, arrive in
    one write to the terminal. Everything lands where it was typed for."""
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"], env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.tmux("send-keys", "-t", screen.session, "-l", "v3.1.0\tSprint 9\r")
    screen.wait_for(lambda t: done_count(t) == 0 and "New deployment" not in t, what="runbook")
    screen.tmux("send-keys", "-t", screen.session, "-l",
                "sdone by the DBA at 01:50\rnchecked the restore by hand\r ")
    screen.wait_for(lambda t: done_count(t) == 2, what="the skip and the tick of the burst")
    sessions = json.loads(cli("sessions", "--json", env=env).stdout)
    shown = json.loads(cli("show", sessions[0]["id"], "--json", env=env).stdout)
    first, second = shown["items"][:2]
    assert first["state"] == "skipped" and first["reason"] == "done by the DBA at 01:50"
    assert second["state"] == "done"
    assert "checked the restore by hand" in second["note"]
    assert shown["facts"]["version"] == "v3.1.0" and shown["facts"]["sprint"] == "Sprint 9"
    screen.keys("q")


@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM"])
def test_hangup_or_terminate_exits_cleanly(
    screen: TmuxScreen, env: dict[str, str], tmp_path: Path, how: str
) -> None:
    """SIGHUP (the terminal goes away) and SIGTERM (an operator's `kill`, a shutdown): the app
    and its children exit, the lock is released, the session stays resumable with the tick made
    just before."""
    errors = tmp_path / "stderr.txt"
    argv = [sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"]
    # Textual draws on stderr, so the screen goes to the file too; the test watches the store.
    screen.start(argv, env, stderr=errors)
    deadline = time.monotonic() + 30
    sessions: list[dict[str, object]] = []
    while time.monotonic() < deadline and not sessions:
        sessions = json.loads(cli("sessions", "--json", env=env).stdout or "[]")
        time.sleep(0.2)
    assert sessions, "the app never created its session"
    session_id = str(sessions[0]["id"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and b"New deployment" not in errors.read_bytes():
        time.sleep(0.1)
    # Answer the version question, then tick the first item (keys in one burst land where they
    # were typed for: see test_a_burst_of_keys_is_not_lost).
    screen.tmux("send-keys", "-t", screen.session, "-l", "v3.1.0\tSprint 9\r ")
    deadline = time.monotonic() + 30
    while done_items(session_id, env) != 1:
        assert time.monotonic() < deadline, "the tick never reached the store"
        time.sleep(0.1)
    pid = screen.pid()
    family = [pid, *descendants(pid)]

    if how == "SIGHUP":
        screen.kill_session()  # the terminal goes away: SIGHUP
    else:
        os.kill(pid, signal.SIGTERM)

    for member in family:
        assert wait_gone(member), f"process {member} is still running after {how}"
    text = errors.read_bytes().decode("utf-8", "replace")
    assert "Traceback" not in text
    assert "Error" not in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("RsdeployError", "")
    # The session is intact and its lock released (a clean exit, not a kill): the lock file
    # is emptied by a clean release, and it can be resumed at once.
    sessions = json.loads(cli("sessions", "--json", env=env).stdout)
    assert sessions[0]["status"] == "active"
    lock = Path(env["RSDEPLOY_STATE_DIR"]) / "sessions" / session_id / "lock"
    assert not lock.exists() or lock.read_text().strip() == ""
    assert done_items(session_id, env) == 1  # nothing lost
    facts = json.loads(cli("show", session_id, "--json", env=env).stdout)["facts"]
    assert (facts["version"], facts["sprint"]) == ("v3.1.0", "Sprint 9")
    screen.kill_session()
    screen.start([sys.executable, "-m", "rsdeploy_tui", "resume", session_id], env)
    screen.wait_for(lambda t: done_count(t) == 1, what="the resumed session, lock taken at once")
    screen.keys("q")


def done_items(session_id: str, env: dict[str, str]) -> int:
    """Items the stored session has as done (``show --json`` works while the app holds it)."""
    shown = cli("show", session_id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return sum(1 for row in json.loads(shown.stdout)["items"] if row["state"] == "done")


def test_c_locale_16_colours_80x24(env: dict[str, str]) -> None:
    """LANG=C over SSH with TERM=xterm: ASCII marks and borders, no crash, keys work."""
    need_tmux()
    screen = TmuxScreen(80, 24)
    try:
        screen.start(
            # a long name: the header line is cut (with no ellipsis glyph, see below)
            [sys.executable, "-m", "rsdeploy_tui", "--operator", "ana-" + "x" * 40],
            {**env, "LANG": "C", "TERM": "xterm"},
        )
        screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
        screen.keys("Escape")
        text = screen.wait_for(lambda t: done_count(t) == 0 and "[ ]" in t
                               and "New deployment" not in t, what="the runbook")
        assert "+----" in text  # ASCII borders
        assert "░" not in text and "█" not in text.split("\n", 4)[4]
        blocks = set("▁▂▃▄▅▆▇▉▊▋▌▍▎▏")
        assert not blocks & set(text), "block glyphs (scrollbars?) on a non-UTF-8 terminal"
        assert "…" not in text, "an ellipsis glyph (cut lines, tab labels) on a non-UTF-8 terminal"
        screen.keys("Space")
        text = screen.wait_for(lambda t: done_count(t) == 1, what="one item ticked")
        assert "[x]" in text and "#" in text  # the ASCII progress bar moved
        pid = screen.pid()
    finally:
        screen.close()
    # The terminal vanished while the app was drawing on it (SSH drop): it still exits, and
    # releases its lock (Textual's own shutdown can block on the dead terminal).
    assert wait_gone(pid, timeout=20), f"the app (pid {pid}) outlived its terminal"
    session_dir = next((Path(env["RSDEPLOY_STATE_DIR"]) / "sessions").iterdir())
    assert (session_dir / "lock").read_text().strip() == ""
