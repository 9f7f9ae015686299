"""The app tells the operator when another process wrote to the session (#17.1).

The second writer is played by a direct append to the journal (what an older rsdeploy-tui
holding only the ``lock`` file's flock would do); the app must refuse its own next event,
say why, and stay read-only — nothing numbered twice.
"""

from __future__ import annotations

from collections.abc import Callable

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.journal import read_journal

SIZE = (100, 32)


def messages(app: object) -> list[str]:
    notes = app._notifications  # type: ignore[attr-defined]
    return [f"{n.title}: {n.message}" for n in notes]


async def test_a_foreign_append_turns_the_app_read_only_and_says_so(
        mini: Checklist, session: Session, store: SessionStore,
        stored: Callable[[str], SessionState]) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert stored(session.id).item("pre.db-backup").state == "done"
        journal = session.dir / "events.jsonl"
        before = read_journal(journal).events
        with journal.open("ab") as other:  # another writer, behind the app's back
            other.write(Event(len(before) + 1, "note", "2026-11-26T02:13:00.000Z", "ben",
                              "bastion-2", "pre.db-backup",
                              {"text": "from the other terminal"}).to_line())
        await pilot.press("space")
        await pilot.pause()
        shown = messages(app)
        assert any(m.startswith("Another process wrote to this session") and
                   "was not recorded" in m and "read-only" in m for m in shown), shown
        assert session.read_only
        app.clear_notifications()
        await pilot.press("space")
        await pilot.pause()
        assert any("Read-only" in m for m in messages(app)), messages(app)

    loaded = read_journal(session.dir / "events.jsonl")
    assert loaded.warnings == []
    assert [e.seq for e in loaded.events] == list(range(1, len(before) + 2))
    assert loaded.events[:-1] == before and loaded.events[-1].operator == "ben"
    assert stored(session.id).item("pre.db-restore-test").state == "pending"


async def test_a_summary_that_cannot_be_written_is_told_as_recorded(
        mini: Checklist, session: Session, stored: Callable[[str], SessionState]) -> None:
    snapshot = session.dir / "session.json"
    snapshot.unlink()
    snapshot.mkdir()  # the atomic replace of session.json now fails, as on a full disk
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await pilot.pause()
        shown = messages(app)
        assert any(m.startswith("Recorded, with a warning") and
                   "The event was recorded in the journal" in m for m in shown), shown
        assert not any("repeat the last action" in m for m in shown)
    assert stored(session.id).item("pre.db-backup").state == "done"
