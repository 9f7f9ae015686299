"""The runbook on a shared store (#18): a viewer elsewhere follows live; a holder that lost
the lease says so without a key press; the header says what is not shared yet."""

from __future__ import annotations

import time
from collections.abc import Callable

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.ui.widgets.header import RunbookHeader

SIZE = (110, 32)
Machine = Callable[[str], SessionStore]


async def _wait_for(pilot: object, condition: Callable[[], bool], what: str,
                    bound_s: float = 90.0) -> None:
    """Wait on the event that matters; the bound is only against a hang."""
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def _line(app: object, qid: str) -> str:
    return str(app.screen.current_list.get_option(qid).prompt)  # type: ignore[attr-defined]


def _messages(app: object) -> list[str]:
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]


async def test_a_viewer_on_another_machine_sees_the_tick(machine: Machine,
                                                         mini: Checklist) -> None:
    holder = machine("a").create(mini, operator="ana")
    assert holder.shared.wait_uploaded(60)
    viewer = machine("b").open(holder.id, operator="bob", read_only=True)
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _line(app, "pre.db-backup").startswith("[ ]")
        holder.record("tick", "pre.db-backup")  # on machine a
        await _wait_for(pilot, lambda: _line(app, "pre.db-backup").startswith("[x]"),
                        "machine b's screen shows the tick made on machine a")
        assert viewer.state(mini).items["pre.db-backup"].by == "ana"
    holder.close()
    stored = machine("c").open(holder.id, read_only=True).state(mini)
    assert stored.items["pre.db-backup"].state == "done"


async def test_the_old_holder_turns_read_only_and_says_by_whom(machine: Machine,
                                                               mini: Checklist) -> None:
    holder = machine("a").create(mini, operator="ana")
    assert holder.shared.wait_uploaded(60)
    app = make_app(mini, holder, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.screen.query_one(RunbookHeader)
        assert "shared" in str(header.render())
        other = machine("b").open(holder.id, operator="bob", take_over=True)
        # no key pressed: the lease renewal finds it gone
        await _wait_for(pilot, lambda: any("bob" in m for m in _messages(app)),
                        "machine a says bob took the session over")
        assert holder.read_only and "read-only" in str(header.render())
        await pilot.press("space")  # refused: nothing reaches either journal
        await pilot.pause()
    other.record("note", "pre.db-backup", text="bob drives now")
    assert other.shared.wait_uploaded(60)
    other.close()
    events = machine("c").open(holder.id, read_only=True).events
    assert [e.kind for e in events][-2:] == ["lock_taken_over", "note"]
    assert not any(e.kind == "tick" for e in events)
