"""Keys that arrive in one burst (a laggy SSH link, tmux, mosh) act exactly as typed one by one.

The keys are posted to the app all at once, as the terminal driver does with a burst, and only
then is the app let run; every assertion is on the stored session (reloaded from disk).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import events

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState
from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

SIZE = (100, 32)
Stored = Callable[[str], SessionState]
NAMES = {" ": "space", "\n": "enter", "\x1b": "escape", "/": "slash"}


async def burst(pilot: object, text: str, until: Callable[[], bool]) -> None:
    """Post every key of ``text`` at once, then let the app run until ``until()``."""
    app = pilot.app  # type: ignore[attr-defined]
    for char in text:
        app.post_message(events.Key(NAMES.get(char, char), char))
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline, "the burst was not handled"
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    await pilot.pause(0.1)  # type: ignore[attr-defined]


def kinds(session: Session) -> list[tuple[str, str | None]]:
    return [(e.kind, e.item) for e in session.events if e.kind not in ("phase_entered",)][1:]


async def test_a_reason_typed_right_after_s_is_kept(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "sbackup taken by the DBA\nnrestore tested on staging\n ",
                    lambda: len(kinds(session)) >= 3)
    state = stored(session.id)
    assert state.item("pre.db-backup").state == "skipped"
    assert state.item("pre.db-backup").reason == "backup taken by the DBA"
    # The cursor moved on after the skip: the note and the tick are the next item's.
    assert [n.text for n in state.item("pre.db-restore-test").notes] == [
        "restore tested on staging"]
    assert state.item("pre.db-restore-test").state == "done"
    assert kinds(session) == [("skip", "pre.db-backup"), ("note", "pre.db-restore-test"),
                              ("tick", "pre.db-restore-test")]


async def test_moves_before_a_key_act_before_it(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "jjsnot needed\n", lambda: bool(kinds(session)))
    assert kinds(session) == [("skip", "pre.migrations-reviewed")]
    assert stored(session.id).item("pre.migrations-reviewed").reason == "not needed"


async def test_keys_after_escape_go_back_to_the_list(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "sno\x1b ", lambda: bool(kinds(session)))
        assert isinstance(app.screen, RunbookScreen)
    assert kinds(session) == [("tick", "pre.db-backup")]
    assert stored(session.id).item("pre.db-backup").reason is None


async def test_an_empty_reason_is_refused_and_the_retyped_one_kept(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, "s\nwhy\n", lambda: bool(kinds(session)))
    assert stored(session.id).item("pre.db-backup").reason == "why"


async def test_a_typed_confirmation_in_the_burst_reaches_its_dialog(
    mini: Checklist, session: Session
) -> None:
    session.record("gate_override", phase="deploy", reason="test")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        assert app.screen.current_item.qid == "deploy.eb-deploy"  # type: ignore[attr-defined]

        def typed() -> str:
            screen = app.screen
            return screen.query_one("#typed").value if isinstance(
                screen, TypedConfirmModal) else ""

        await burst(pilot, "rmini-pro", lambda: typed() == "mini-pro")
        await burst(pilot, "\x1b", lambda: isinstance(app.screen, RunbookScreen))
    assert "command_started" not in [kind for kind, _ in kinds(session)]


async def test_a_burst_of_phase_switches_lands_on_the_last_and_acts_there(
    mini: Checklist, session: Session
) -> None:
    """Right, right, space in one burst: the tick is in the tab shown, never in one left behind
    (TabbedContent's focus-follows-tab used to switch back under the keys)."""
    session.record("gate_override", phase="deploy", reason="test")
    session.record("gate_override", phase="post", reason="test")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("right", "right", "space"):
            app.post_message(events.Key(key, " " if key == "space" else None))
        deadline = time.monotonic() + 10
        while not any(kind == "tick" for kind, _ in kinds(session)):
            assert time.monotonic() < deadline, "the burst was not handled"
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, RunbookScreen) and screen.current_phase is not None
        assert screen.current_phase.id == "post"
    (ticked,) = [item for kind, item in kinds(session) if kind == "tick"]
    assert ticked is not None and ticked.startswith("post.")


async def test_keys_typed_right_after_slash_go_into_the_filter_in_order(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """`/health` typed in one burst filtered on `ealth` (the box was not focused yet), `/ssh`
    lost every letter: every key after `/` goes into the box, in order, and the enter and the
    space after it act on the filtered list."""
    session.record("gate_override", phase="post", reason="test")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await burst(pilot, "/health\n ", lambda: any(k == "tick" for k, _ in kinds(session)))
        box = app.screen.query_one("#filter")
        assert box.value == "health"  # type: ignore[attr-defined]
    ticks = [item for kind, item in kinds(session) if kind == "tick"]
    assert ticks == ["post.health"]
    assert stored(session.id).item("post.health").state == "done"


async def test_keys_in_the_burst_after_q_are_kept_for_the_shell_not_acted_on(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """`q j <space> eb status`: nothing after q may tick or move; its text is the shell's."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        for char in "qj eb status\n":
            app.post_message(events.Key(NAMES.get(char, char), char))
        await pilot.pause(0.5)
    assert "".join(app.leaving_keys or []) == "j eb status\n"
    assert [kind for kind, _ in kinds(session)] == ["cursor"]  # q's own record, nothing after


def test_handing_back_keys_without_a_terminal_says_so(monkeypatch: object) -> None:
    import io
    import sys

    from rsdeploy_tui.ui.typeahead import hand_back

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))  # type: ignore[attr-defined]
    refused = hand_back("ls\r")
    assert refused is not None and "3 character(s) typed right after q" in refused
    assert hand_back("") is None
