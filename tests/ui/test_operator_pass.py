"""Defects found in an operator's acceptance pass, each pinned by what the operator noticed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.containers import Vertical

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.ui.screens.help import HelpScreen
from rsdeploy_tui.ui.screens.runbook_keys import LOG_TAB, MESSAGES_TAB
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


async def test_help_is_a_centred_dialog_over_the_runbook(mini: Checklist, session: Session) -> None:
    """`?` drew its box at the top-left corner over a blank screen (it lacked the modal style)."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one(".help-dialog", Vertical)
        left = dialog.region.x
        right = SIZE[0] - dialog.region.right
        assert left > 0 and abs(left - right) <= 1, dialog.region
        assert dialog.region.y > 0, dialog.region


async def test_keys_do_nothing_while_the_terminal_is_too_small(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """At 70x20 only the too-small message shows; a blind space ticked the hidden item."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.press("space", "s", "n", "2", "space")
        await pilot.pause()
        assert not app.screen.is_modal
    state = stored(session.id)
    assert all(s.state == "pending" and not s.notes for s in state.items.values())


async def test_quit_still_works_while_the_terminal_is_too_small(
    mini: Checklist, session: Session
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.press("q")
    assert app.return_value == session.id


async def test_keys_work_again_once_the_terminal_is_enlarged(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        await pilot.press("space")
    assert stored(session.id).item("pre.db-backup").state == "done"


def _messages(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


async def test_a_greyed_key_says_why_instead_of_doing_nothing(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    """`r`, `c`, `x` on an item without a command, a check or a run did nothing, silently."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")  # pre.db-restore-test: no command, no check
        await pilot.press("r")
        await pilot.pause()
        assert any("no command" in m for m in _messages(app)), _messages(app)
        await pilot.press("c")
        await pilot.pause()
        assert any("no automated check" in m for m in _messages(app)), _messages(app)
        await pilot.press("x")
        await pilot.pause()
        assert any("nothing running" in m for m in _messages(app)), _messages(app)
        await pilot.press("3", "a")  # post: no item of it has a check
        await pilot.pause()
        assert any("no automated checks" in m for m in _messages(app)), _messages(app)
    assert all(s.state == "pending" for s in stored(session.id).items.values())


async def test_an_available_key_adds_no_why_not_message(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")  # ticks pre.db-backup
        await pilot.pause()
        assert _messages(app) == []


async def test_read_only_keys_say_read_only(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    viewer = store.open(session.id, operator="bob", read_only=True)
    app = make_app(mini, viewer, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await pilot.pause()
        assert any("Read-only" in m for m in _messages(app)), _messages(app)
        app.clear_notifications()
        await pilot.press("R")  # a rollback cannot start in a session that is only viewed
        await pilot.pause()
        assert any("Read-only" in m for m in _messages(app)), _messages(app)


async def test_item_keys_on_the_log_tab_add_no_message(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")  # the Deployment Log tab: no item, no phase
        await pilot.pause()
        assert app.screen.current_item is None
        await pilot.press("r", "c", "a")
        await pilot.pause()
        assert _messages(app) == []
        await pilot.press("slash")
        await pilot.pause()
        assert any("no items to filter" in m for m in _messages(app)), _messages(app)


async def test_digits_reach_the_report_tabs_as_help_says(mini: Checklist, session: Session) -> None:
    """Help: "1-9 switch tab (phases, Deployment Log, Messages)"; 4 and 5 did nothing."""
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.screen.query_one("#phases", PhaseTabs)
        await pilot.press("4")
        await pilot.pause()
        assert tabs.active == LOG_TAB
        await pilot.press("5")
        await pilot.pause()
        assert tabs.active == MESSAGES_TAB
        await pilot.press("6")
        await pilot.pause()
        assert tabs.active == MESSAGES_TAB
        assert any("no tab 6" in m for m in _messages(app)), _messages(app)


async def test_resume_lands_where_the_operator_last_skipped_noted_or_ran(
    mini: Checklist, session: Session, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a tick recorded the phase: after a run in Deployment, resume opened another tab."""
    from rsdeploy_tui.ui.runs import RunController

    launched: list[str] = []
    monkeypatch.setattr(RunController, "_launch",
                        lambda self, item, *args: launched.append(item.qid))
    session.record("phase_entered", phase="post")
    # (tab, key, what is typed into its dialog, the phase recorded as current)
    for tab, key, typed, phase in (("1", "s", "not needed", "pre"),
                                   ("3", "n", "smoke ok", "post"),
                                   ("2", "r", "mini-prod", "deploy")):
        app = make_app(mini, session, use_git=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(tab, key)
            await pilot.press(*typed, "enter")
            await pilot.pause()
        assert stored(session.id).current_phase == phase
    assert launched == ["deploy.eb-deploy"]


BLOCK_GLYPHS = set("▀▄█▔▁▊▎▌━╸╺")


def _screen_text(app: object) -> str:
    """The characters on screen (the SVG screenshot's text, which is what the terminal shows)."""
    import html
    import re

    svg = app.export_screenshot()  # type: ignore[attr-defined]
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


async def test_dialogs_use_ascii_borders_on_a_non_utf8_terminal(
    mini: Checklist, session: Session
) -> None:
    """LANG=C: the panels were ASCII but a dialog, its text box and buttons drew block glyphs."""
    app = make_app(mini, session, use_git=False, ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        text = _screen_text(app)
        assert "Why is it skipped?" in text
        assert not BLOCK_GLYPHS & set(text), sorted(BLOCK_GLYPHS & set(text))


def test_help_lines_join_into_paragraphs_but_code_blocks_keep_their_lines(tmp_path: Path) -> None:
    """A help block's source line breaks showed as ragged lines ("with what was" / "uploaded")."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionState
    from rsdeploy_tui.ui import view
    from rsdeploy_tui.ui.glyphs import UNICODE

    path = tmp_path / "c.yaml"
    path.write_text(
        "name: C\nphases:\n  - id: p\n    title: P\n    sections:\n      - id: s\n"
        "        title: S\n        items:\n          - id: a\n            text: A\n"
        "            help: |\n"
        "              Downloads the backup, compares size with what was\n"
        "              uploaded, and proves it.\n"
        "\n"
        "              Steps:\n"
        "              - first\n"
        "              - second\n"
        "              ```\n"
        "              eb ssh prod\n"
        "              pg_dump > x.sql\n"
        "              ```\n"
    )
    checklist = load_checklist(path)
    text = view.detail_text(checklist, checklist.items[0], SessionState(), str, UNICODE).plain
    assert "compares size with what was uploaded, and proves it.\n\nSteps:\n" in text
    assert "- first\n- second\n" in text
    # fenced code keeps its lines, laid out as code (indented), without the ``` fences
    assert "- second\n  eb ssh prod\n  pg_dump > x.sql\n" in text
    assert "```" not in text


def test_a_missing_rollback_value_says_how_to_give_it_from_inside_the_app() -> None:
    """"previous_tag not set — set --set previous_tag=TAG" was shown in the running app, where
    there is no --set: the way is to quit and resume with --set (which does fill it)."""
    from rsdeploy_tui import locations
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.checklist.vars import resolve_vars
    from rsdeploy_tui.rollback import prefill

    checklist = load_checklist(locations.bundled_checklist())
    values = resolve_vars(checklist, {}, config={})
    for qid, name in (("rollback.redeploy-previous-tag", "previous_tag"),
                      ("rollback.restore-previous-eb-version", "previous_version")):
        step = prefill(checklist.find_item(qid), values, {}, checklist.secrets)
        assert step.missing, qid
        assert f"rsdeploy-tui resume --set {name}=" in step.missing[0], step.missing
        assert "set --set" not in step.missing[0]


async def test_a_dialog_is_not_covered_by_toasts(mini: Checklist, session: Session) -> None:
    """After a resume, the restore toasts covered the quit dialog's buttons (bottom right)."""
    from textual.widgets import Button

    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for n in range(3):
            app.notify("Restored session: 3/10 done, 1 running, 2 critical pending. " * 2,
                       title=f"Session {n}", timeout=30)
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause(0.3)
        toasts = [t.region for t in app.screen.query("Toast") if t.display and t.visible]
        buttons = [b.region for b in app.screen.query(Button)]
        assert buttons
        assert not any(t.overlaps(b) for t in toasts for b in buttons), (toasts, buttons)
        row = _screen_text(app).splitlines()[buttons[0].y]
        assert "Skip" in row and "Cancel" in row, row
        await pilot.press("escape")  # the dialog closes: the toasts are back
        await pilot.pause(0.3)
        assert "Restored session" in _screen_text(app)
