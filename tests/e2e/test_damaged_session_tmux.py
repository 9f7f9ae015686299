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
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--operator", "ana"], env)
    offer = screen.wait_for(lambda t: "An unfinished deployment session exists" in t,
                            what="the resume offer")
    assert healthy.id in offer and broken.id not in offer
    screen.keys("r")
    screen.wait_for(lambda t: "1/" in t and " done" in t and healthy.id in t,
                    what="the resumed runbook")
    screen.keys("q")
    screen.wait_for(lambda t: f"rsdeploy-tui resume {healthy.id}" in t or not t.strip(),
                    timeout=15, what="the app to quit")
    resumed = store.open(healthy.id, read_only=True)
    assert "session_resumed" in [e.kind for e in resumed.events]
    assert store.summary(broken.id).status == "damaged"
