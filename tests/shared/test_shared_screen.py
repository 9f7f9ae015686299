"""The runbook on a shared store (#18): a viewer elsewhere follows live; a holder that lost
the lease says so without a key press; the header says what is not shared yet."""

from __future__ import annotations

import time
from collections.abc import Callable

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.ui.widgets.header import RunbookHeader
from support.restartable_moto import Restartable
from support.shared_conflict import make_conflict

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
        # and from now on it shows what the new holder records, as any viewer
        other.record("tick", "pre.db-restore-test")
        await _wait_for(pilot, lambda: _line(app, "pre.db-restore-test").startswith("[x]"),
                        "machine a's screen follows bob's tick")
        banner = str(app.screen.query_one("#banner").render())
        assert "bob" in banner and "READ-ONLY" in banner
    other.record("note", "pre.db-backup", text="bob drives now")
    assert other.shared.wait_uploaded(60)
    other.close()
    events = machine("c").open(holder.id, read_only=True).events
    assert [e.kind for e in events][-3:] == ["lock_taken_over", "tick", "note"]
    assert not any(e.kind == "tick" and e.operator == "ana" for e in events)


async def test_the_conflict_dialog_lists_the_set_aside_events_and_rerecords_the_ticked(
        machine: Machine, mini: Checklist, restartable: Restartable) -> None:
    from textual.widgets import SelectionList

    from rsdeploy_tui.ui.screens.conflicts import ConflictModal

    session_id = make_conflict(machine, mini, restartable)
    viewer = machine("a").open(session_id, operator="ana")  # read-only until decided
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for(pilot, lambda: isinstance(app.screen, ConflictModal)
                        and bool(app.screen.query(SelectionList)),
                        "the decision dialog shows when the session opens")
        dialog = app.screen
        choices = dialog.query_one(SelectionList)
        lines = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
        tick_text = mini.item("pre.tests-pass").text
        assert "ana@" in lines[0] and lines[0].endswith(f"ticked {tick_text}")
        assert lines[2].endswith("ran `make test` → exit 0")
        assert lines[3].endswith("note on " + tick_text + ": tests green on ana's box")
        # the operator unticks the note (the fourth line) and re-records the rest
        await pilot.press("home")
        for _ in range(3):
            await pilot.press("down")
        await pilot.press("space")
        assert dialog.ticked == [e.seq for e in viewer.conflicts.files[0].replayable()][:3]
        await pilot.press("r")
        await _wait_for(pilot, lambda: app.session is not viewer and not app.session.read_only,
                        "the app drives the session once the decision is recorded")
        await _wait_for(pilot, lambda: getattr(app.screen, "current_list", None) is not None
                        and _line(app, "pre.tests-pass").startswith("[x]"),
                        "the re-recorded tick shows on the runbook, now writable")
        assert not app.screen.has_class("-read-only")
        assert app.session.shared.wait_uploaded(60)
    app.session.close()
    stored = machine("c").open(session_id, read_only=True).events
    again = [e for e in stored if "rerecorded_from" in e.data]
    assert [e.kind for e in again] == ["tick", "command_started", "command_finished"]
    decision = next(e for e in stored if e.kind == "conflict_decided")
    assert decision.operator == "ana" and decision.data["decision"] == "rerecorded"
    note = next(e for e in viewer.conflicts.files[0].events if e.kind == "note")
    assert note.seq in decision.data["set_aside"]
