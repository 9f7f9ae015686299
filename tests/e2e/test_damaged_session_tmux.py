"""Plain ``rsdeploy-tui`` starts, in a real terminal, with a damaged session beside a healthy one.

Before #17 the wrong-typed ``session_created`` of one session killed every launch with
``TypeError: 'int' object is not iterable``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, need_tmux
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.events import Event, parse_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(100, 32)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def test_the_app_starts_and_offers_the_healthy_session(screen: TmuxScreen,
                                                        tmp_path: Path) -> None:
    env = app_env(tmp_path / "state", tmp_path / "config")
    store = SessionStore(tmp_path / "state" / "sessions")
    checklist = load_checklist(None)
    healthy = store.create(checklist, operator="ana")
    healthy.record("tick", "pre.unit-tests")
    healthy.close()
    broken = store.create(checklist, operator="ben")  # the newer one: offered first if readable
    broken.close()
    journal = broken.dir / "events.jsonl"
    first = parse_line(journal.read_bytes().rstrip(b"\n"))
    journal.write_bytes(Event(first.seq, first.kind, first.at, first.operator, first.host,
                              None, {**first.data, "items": 7}).to_line())

    # (stderr stays the terminal: Textual draws the screen there)
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"], env,
                 keep_after_exit=True)
    offer = screen.wait_for(lambda t: "An unfinished deployment session exists" in t,
                            what="the resume offer")
    assert healthy.id in offer and broken.id not in offer
    screen.keys("r")
    screen.wait_for(lambda t: "1/" in t and " done" in t and healthy.id in t,
                    what="the resumed runbook")
    screen.keys("q")
    # The pane outlives the app: its exit status and the hint it printed are read, not guessed.
    status = screen.wait_ended(30, what="the app to quit")
    assert status == 0
    assert f"rsdeploy-tui resume {healthy.id}" in screen.text(history=True)
    resumed = store.open(healthy.id, read_only=True)
    kinds = [e.kind for e in resumed.events]
    # Resumed once, after what was there (the cursor position may be recorded after it).
    assert kinds.count("session_resumed") == 1
    assert kinds.index("session_resumed") > kinds.index("tick")
    assert store.summary(broken.id).status == "damaged"


def test_resuming_the_damaged_session_is_a_located_sentence(screen: TmuxScreen,
                                                             tmp_path: Path) -> None:
    env = app_env(tmp_path / "state", tmp_path / "config")
    store = SessionStore(tmp_path / "state" / "sessions")
    broken = store.create(load_checklist(None), operator="ben")
    broken.record("command_finished", "pre.unit-tests", run="r1", exit_code=0, tail=["OK"])
    broken.close()
    journal = broken.dir / "events.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    last = parse_line(lines[1].rstrip(b"\n"))
    lines[1] = Event(last.seq, last.kind, last.at, last.operator, last.host, last.item,
                     {**last.data, "tail": 42}).to_line()
    journal.write_bytes(b"".join(lines))

    screen.start([sys.executable, "-m", "rsdeploy_tui", "resume", broken.id], env,
                 keep_after_exit=True)
    status = screen.wait_ended(30, what="resume to refuse and exit")
    shown = screen.text(history=True)
    assert status == 1  # an RsdeployError: its sentence on stderr, exit 1
    assert "Traceback" not in shown
    assert "line 2 is corrupted" in " ".join(shown.split()) and "data.tail" in shown, shown
