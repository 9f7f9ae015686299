"""Every key of the runbook, asserted on the stored session (reloaded from disk), not the screen."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.ui.screens.help import HelpScreen
from rsdeploy_tui.ui.screens.modals import ConfirmModal, ReasonModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.widgets.item_list import ItemList
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs, TabStrip

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


def runbook(app: object) -> RunbookScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, RunbookScreen), f"expected the runbook, got {screen!r}"
    return screen


def states(state: SessionState, *qids: str) -> list[str]:
    return [state.item(q).state for q in qids]


async def test_space_ticks_and_moves_to_next_pending(
    mini: Checklist, session: Session, stored: Stored, clock: object
) -> None:
    app = make_app(mini, session, clock=clock, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        assert runbook(app).current_item.qid == "pre.db-backup"
        await pilot.press("space", "space", "space")
        assert runbook(app).current_item.qid == "pre.tests-pass"
    state = stored(session.id)
    assert states(
        state, "pre.db-backup", "pre.db-restore-test", "pre.migrations-reviewed", "pre.tests-pass"
    ) == ["done", "done", "done", "pending"]
    assert state.item("pre.db-backup").by == "ana"
    assert state.current_phase == "pre"


async def test_untick_of_any_done_item_asks_and_says_who_ticked_it_when(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """Space on a done item unticked it without a word (easy by habit after a resume)."""
    session.record("tick", item="pre.db-restore-test")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")
        assert runbook(app).current_item.qid == "pre.db-restore-test"
        await pilot.press("space")
        dialog = app.screen
        assert isinstance(dialog, ConfirmModal)
        body = str(dialog.query_one(".dialog-body").render())
        assert "Ticked by ana at 02:00:00 UTC" in body
        await pilot.press("n")
        assert stored(session.id).item("pre.db-restore-test").state == "done"
        await pilot.press("space", "y")
    assert stored(session.id).item("pre.db-restore-test").state == "pending"


async def test_untick_critical_asks_first(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    session.record("tick", item="pre.db-backup")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        # the cursor starts on the first pending item
        assert runbook(app).current_item.qid == "pre.db-restore-test"
        await pilot.press("up")
        assert runbook(app).current_item.qid == "pre.db-backup"
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        assert stored(session.id).item("pre.db-backup").state == "done"
        await pilot.press("space")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
    assert stored(session.id).item("pre.db-backup").state == "pending"


async def test_skip_requires_a_reason(mini: Checklist, session: Session, stored: Stored) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # empty reason: refused, the modal stays
        assert isinstance(app.screen, ReasonModal)
        assert stored(session.id).item("pre.db-backup").state == "pending"
        await pilot.press(*"no db here", "enter")
        assert isinstance(app.screen, RunbookScreen)
    item = stored(session.id).item("pre.db-backup")
    assert (item.state, item.reason) == ("skipped", "no db here")


async def test_skip_cancelled_changes_nothing(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", *"maybe", "escape")
        assert isinstance(app.screen, RunbookScreen)
    assert stored(session.id).item("pre.db-backup").state == "pending"


async def test_note_is_recorded(mini: Checklist, session: Session, stored: Stored) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", *"dump is 2 GB", "enter")
    notes = stored(session.id).item("pre.db-backup").notes
    assert [(n.text, n.by) for n in notes] == [("dump is 2 GB", "ana")]
    assert stored(session.id).item("pre.db-backup").state == "pending"


async def test_gate_blocks_then_override_records_reason(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        assert runbook(app).current_item.qid == "deploy.eb-deploy"
        await pilot.press("space")
        modal = app.screen
        assert isinstance(modal, ReasonModal)
        assert "pre.db-backup" in str(modal.query_one(".dialog-body").render())
        await pilot.press("escape")
        assert stored(session.id).item("deploy.eb-deploy").state == "pending"
        await pilot.press("space", "enter")  # override without a reason: refused
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"backup taken by DBA", "enter")
    state = stored(session.id)
    assert state.item("deploy.eb-deploy").state == "done"
    override = state.gate_overrides["deploy"]
    assert (override.reason, override.by) == ("backup taken by DBA", "ana")


async def test_gate_opens_when_gate_items_done(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    session.record("tick", item="pre.db-backup")
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "space")
        assert isinstance(app.screen, RunbookScreen)
    state = stored(session.id)
    assert state.item("deploy.eb-deploy").state == "done"
    assert "deploy" not in state.gate_overrides


async def test_phase_switching_keys(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.screen.query_one(PhaseTabs)
        await pilot.pause()  # PhaseTabs applies its initial tab once mounted
        await pilot.press("right")
        assert tabs.active == "phase-deploy"
        await pilot.press("3")
        assert tabs.active == "phase-post"
        assert runbook(app).current_item.qid == "post.health"
        await pilot.press("right")
        assert tabs.active == "tab-deployment-log"
        await pilot.press("left", "left")
        assert tabs.active == "phase-deploy"
        await pilot.press("1", "j", "j")
        assert runbook(app).current_item.qid == "pre.migrations-reviewed"
        await pilot.press("k")
        assert runbook(app).current_item.qid == "pre.db-restore-test"


async def test_g_goes_to_next_pending_across_phases(mini: Checklist, session: Session) -> None:
    for qid in (
        "pre.db-restore-test",
        "pre.migrations-reviewed",
        "pre.tests-pass",
        "pre.no-debug",
        "pre.env-vars",
    ):
        session.record("tick", item=qid)
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        assert runbook(app).current_item.qid == "pre.db-backup"
        await pilot.press("g")
        assert runbook(app).current_item.qid == "deploy.eb-deploy"
        await pilot.press("g")
        assert runbook(app).current_item.qid == "deploy.watch-events"
        await pilot.press("g", "g")
        assert runbook(app).current_item.qid == "post.login"
        await pilot.press("g")
        assert runbook(app).current_item.qid == "pre.db-backup"


async def test_filter_narrows_the_list_and_escape_clears(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"debug")
        item_list = app.screen.query_one("#phase-pre ItemList", ItemList)
        assert [i.qid for i in item_list.visible_items] == ["pre.no-debug"]
        await pilot.press("enter")  # keep the filter, back to the list
        assert app.focused is item_list
        await pilot.press("space")
        assert stored(session.id).item("pre.no-debug").state == "done"
        await pilot.press("escape")
        assert len(item_list.visible_items) == 6
        assert not app.screen.query_one("#filter", Input).display


async def test_read_only_changes_nothing(
    mini: Checklist, session: Session, store: SessionStore, stored: Stored
) -> None:
    viewer = store.open(session.id, operator="bob", read_only=True)
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        banner = str(app.screen.query_one("#banner").render())
        assert "READ-ONLY" in banner and "ana" in banner
        await pilot.press("space", "s", "n", "2", "space")
        assert isinstance(app.screen, RunbookScreen)  # no modal opened
        for action in ("tick", "skip", "note"):
            assert not runbook(app).check_action(action, ())
    state = stored(session.id)
    assert all(s.state == "pending" and not s.notes for s in state.items.values())
    assert len(store.open(session.id, read_only=True).events) == len(session.events)


# How the help writes a binding's key (Textual's key name -> what the operator presses).
_KEY_AS_SHOWN = {"space": "space", "slash": "/", "question_mark": "?", "escape": "escape"}


def _help_rows(screen: HelpScreen) -> list[tuple[str, str]]:
    """The runbook section's (keys, what they do) rows, read from the help as rendered (up to
    the next section's heading: the log pane and tabs have keys of their own)."""
    from rich.console import Console
    from textual.widgets import Static

    from rsdeploy_tui.ui.screens.help import KEY_WIDTH

    console = Console(width=120, record=True, color_system=None)
    for widget in screen.query(Static):
        if widget.has_class("help-keys") or not isinstance(widget.content, str):
            console.print(widget.content)
    lines = console.export_text().splitlines()
    start = lines.index("Runbook (the item list)") + 1
    rows: list[tuple[str, str]] = []
    for line in lines[start:]:
        if line and not line.startswith(" ") and len(line.rstrip()) <= KEY_WIDTH + 2 and \
                line[KEY_WIDTH:].strip() == "" and rows:
            break  # the next section's heading
        keys, text = line[:KEY_WIDTH].strip(), line[KEY_WIDTH:].strip()
        if keys:
            rows.append((keys, text))
        elif text and rows:  # a wrapped description
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {text}")
        elif not line.strip() and rows:
            break
    return rows


async def test_help_screen_lists_keys(mini: Checklist, session: Session) -> None:
    """The help names every key the runbook binds, with what it does."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = _help_rows(app.screen)
        shown: set[str] = set()
        for keys, _text in rows:
            # "up/down, k/j", "s / n", "/": commas and spaces part keys, so does "/" between two.
            for word in keys.replace(",", " ").split():
                for token in word.split("/") if len(word) > 1 else [word]:
                    shown |= {str(n) for n in range(1, 10)} if token == "1-9" else {token}
        for binding in RunbookScreen.BINDINGS:
            key = _KEY_AS_SHOWN.get(binding.key, binding.key)
            assert key in shown, f"the help does not list {key!r} ({binding.action})"
        described = dict(rows)
        assert described["space"] == "tick and go to the next pending (done: asks, then unticks)"
        assert described["r / x"] == "run the item's command / cancel its run"
        assert described["?"] == "this help"
        await pilot.press("escape")
        assert isinstance(app.screen, RunbookScreen)


async def test_quit_returns_session_id(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert app.return_value == session.id


async def test_quit_asks_when_an_item_is_running(mini: Checklist, session: Session) -> None:
    from rsdeploy_tui.runner import cancel_run, start_run

    # A real detached run: on start-up the app re-attaches it (a made-up one would be "lost").
    run_dir = session.dir / "runs"
    handle = start_run(run_dir, "sleep 30", run_id="r1")
    session.record(
        "command_started",
        item="pre.db-backup",
        run="r1",
        command="sleep 30",
        pid=handle.pid,
        log=str(handle.log_path),
        confirmed=None,
    )
    app = make_app(mini, session, use_git=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+q")
            assert isinstance(app.screen, ConfirmModal)
            await pilot.press("n")
            assert isinstance(app.screen, RunbookScreen)
            await pilot.press("q", "y")
    finally:
        cancel_run(run_dir, "r1", grace=0.5)
    assert app.return_value == session.id


async def test_command_palette_offers_actions(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Tick / untick item" in titles and "Skip item" in titles
        assert "Run check" not in titles  # the first item has no check


async def test_gate_items_of_their_own_phase_can_be_ticked(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    from dataclasses import replace

    # Deployment gated on its own first item: that item is tickable, the next is not.
    deploy = mini.phase("deploy")
    gated = replace(
        mini,
        phases=tuple(
            replace(p, gate=("deploy.eb-deploy",)) if p is deploy else p for p in mini.phases
        ),
    )
    app = make_app(gated, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "space")
        assert isinstance(app.screen, RunbookScreen)
        assert runbook(app).current_item.qid == "deploy.watch-events"
        await pilot.press("up", "space", "y")  # untick (critical: confirm); gated again
        await pilot.press("down", "space")
        assert isinstance(app.screen, ReasonModal)
    assert stored(session.id).item("deploy.eb-deploy").state == "pending"


async def test_enter_tab_and_escape_move_focus(mini: Checklist, session: Session) -> None:
    from rsdeploy_tui.ui.widgets.detail import ItemDetail

    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.focused, ItemList)
        await pilot.press("enter")
        assert isinstance(app.focused, ItemDetail)
        await pilot.press("escape")
        assert isinstance(app.focused, ItemList)
        await pilot.press("tab")
        assert isinstance(app.focused, ItemDetail)
        await pilot.press("shift+tab")
        assert isinstance(app.focused, ItemList)


async def test_mouse_click_switches_tab(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start, _ = app.screen.query_one(TabStrip).cells_of("phase-post")
        await pilot.click(TabStrip, offset=(start + 1, 0))
        assert app.screen.query_one(PhaseTabs).active == "phase-post"
        assert runbook(app).current_item.qid == "post.health"
