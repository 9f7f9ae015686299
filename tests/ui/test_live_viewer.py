"""A read-only viewer follows the session live (#18): a tick made by another process shows.

Seen in a rehearsal: 20 s after the holder ticked, the viewer still showed the item unticked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionStore

SIZE = (100, 32)
HERE = Path(__file__).resolve().parent

# The "holder": another process on the same store, ticking one item and recording a note.
DRIVER = """
import sys
from pathlib import Path
from rsdeploy_tui.session import SessionStore
store = SessionStore(Path(sys.argv[1]))
s = store.open(sys.argv[2], operator="ana")
s.record("tick", "pre.db-backup")
s.close()
"""


def _line(app: object, qid: str) -> str:
    item_list = app.screen.current_list  # type: ignore[attr-defined]
    return str(item_list.get_option(qid).prompt)


async def _wait_for(pilot: object, condition: object, what: str, bound_s: float = 60.0) -> None:
    """Wait on the screen event that matters; the bound is only against a hang."""
    deadline = time.monotonic() + bound_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def test_read_only_viewer_shows_a_tick_made_by_another_process(
    mini: Checklist, store: SessionStore
) -> None:
    created = store.create(mini, operator="ana")
    session_id = created.id
    created.close()
    viewer = store.open(session_id, operator="bob", read_only=True)
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.current_item.qid == "pre.db-backup"
        before = _line(app, "pre.db-backup")
        assert before.startswith("[ ]"), before
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        driver = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", DRIVER, str(store.root), session_id],
            env=env, capture_output=True, text=True, timeout=120)
        assert driver.returncode == 0, driver.stderr
        # no key pressed: the screen must follow the journal on its own
        await _wait_for(pilot, lambda: _line(app, "pre.db-backup").startswith("[x]"),
                        "the viewer shows pre.db-backup ticked")
        assert viewer.state(mini).items["pre.db-backup"].state == "done"
        assert viewer.read_only and len(viewer.events) == len(
            store.open(session_id, read_only=True).events)
    stored = store.open(session_id, read_only=True).state(mini)
    assert stored.items["pre.db-backup"].state == "done"
    assert stored.items["pre.db-backup"].by == "ana"
