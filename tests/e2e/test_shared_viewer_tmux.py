"""A read-only viewer on another "machine", in a real terminal, sees the holder's tick (#18).

The holder is this test process (machine a); the viewer is `rsdeploy-tui --store ... resume ID
--read-only` in tmux with its own state dir (machine b), both on one moto store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.tmux_screen import TmuxScreen, app_env, need_tmux
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import parse_store_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
BUCKET = "rsdeploy-shared-e2e"


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
