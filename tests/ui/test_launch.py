"""Launch and resume: the resume question, version/sprint, where the cursor lands, locks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.commands.tui import open_session
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.ui.screens.modals import DeploymentInfoModal
from rsdeploy_tui.ui.screens.resume import ResumeModal
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


def chooser(store: SessionStore, mini: Checklist, offer_id: str, chosen: list[str]) -> Any:
    """The command line's open_choice, recording what was chosen."""

    def choose(choice: str) -> tuple[Session, str | None]:
        chosen.append(choice)
        if choice == "new":
            return store.create(mini, vars=resolve_vars(mini, {}, config={}), operator="bob"), None
        return open_session(
            store, offer_id, mini, operator="bob", read_only=choice == "read_only", take_over=False
        )

    return choose


@pytest.mark.parametrize(("key", "choice"), [("enter", "resume"), ("n", "new"), ("o", "read_only")])
async def test_resume_modal_choices(
    mini: Checklist, session: Session, store: SessionStore, key: str, choice: str
) -> None:
    session.record("tick", item="pre.db-backup")
    session.close()
    offer = store.latest(active_only=True, checklist_name=mini.name)
    chosen: list[str] = []
    app = make_app(
        mini, None, offer=offer, use_git=False, open_choice=chooser(store, mini, session.id, chosen)
    )
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, ResumeModal)
        await pilot.press(key)
        await pilot.pause()
        if choice == "new":  # an unfinished session exists: type "new" to confirm
            assert isinstance(app.screen, TypedConfirmModal) and chosen == []
            await pilot.press("n", "e", "w", "enter")
            await pilot.pause()
        screen = app.screen
        if choice == "new":
            assert isinstance(screen, DeploymentInfoModal)
            await pilot.press("escape")
            screen = app.screen
        assert isinstance(screen, RunbookScreen)
        assert chosen == [choice]
        assert (screen.session.id == session.id) == (choice != "new")
        assert screen.session.read_only == (choice == "read_only")
        done = screen.state.item("pre.db-backup").state
        assert done == ("pending" if choice == "new" else "done")
        app.session.close()


async def test_new_session_records_version_and_sprint(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, ask_deployment_info=True, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DeploymentInfoModal)
        await pilot.press(*"v2.4.0", "enter", *"Sprint 14", "enter")
        assert isinstance(app.screen, RunbookScreen)
        assert "v2.4.0" in str(app.screen.query_one("#header").render())
    facts = stored(session.id).facts
    assert (facts["version"], facts["sprint"]) == ("v2.4.0", "Sprint 14")


async def test_version_question_can_be_skipped(
    mini: Checklist, session: Session, stored: Stored
) -> None:
    app = make_app(mini, session, ask_deployment_info=True, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        assert isinstance(app.screen, RunbookScreen)
    assert "version" not in stored(session.id).facts


async def test_resume_lands_where_work_stopped_with_a_notice(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    for qid in ("pre.db-backup", "pre.db-restore-test"):
        session.record("tick", item=qid)
    session.record("phase_entered", phase="deploy")
    session.record("tick", item="deploy.eb-deploy")
    session.close()
    resumed, notice = open_session(
        store, session.id, mini, operator="bob", read_only=False, take_over=False
    )
    assert "3/10 done" in notice and "ana" in notice
    app = make_app(mini, resumed, notice=notice, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunbookScreen)
        assert screen.current_item.qid == "deploy.watch-events"
        assert any("Restored session" in str(n.message) for n in app._notifications)
    resumed.close()


def test_locked_session_opens_read_only_naming_the_holder(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    # `session` holds the lock in this (live) process.
    viewer, notice = open_session(
        store, session.id, mini, operator="bob", read_only=False, take_over=False
    )
    assert viewer.read_only
    assert "in use by ana" in notice and "read-only" in notice


async def test_header_names_who_drives_now(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    session.close()
    resumed, notice = open_session(
        store, session.id, mini, operator="bob", read_only=False, take_over=False
    )
    app = make_app(mini, resumed, notice=notice, use_git=False)
    async with app.run_test(size=SIZE):
        header = str(app.screen.query_one("#header").render())
        assert "operator bob (started by ana)" in header
    resumed.close()


def test_resume_on_a_changed_checklist_says_once_what_changed(
    mini: Checklist, session: Session, store: SessionStore, tmp_path: Any
) -> None:
    from pathlib import Path

    from rsdeploy_tui.checklist import load_checklist

    assert mini.path is not None
    text = Path(mini.path).read_text(encoding="utf-8")
    edited = tmp_path / "mini.yaml"
    edited.write_text(text.replace("id: no-debug\n", "id: renamed-step\n", 1), encoding="utf-8")
    changed = load_checklist(edited)
    session.close()
    resumed, notice = open_session(
        store, session.id, changed, operator="bob", read_only=False, take_over=False
    )
    resumed.close()
    assert "Added: pre.renamed-step." in notice
    assert "Removed: pre.no-debug" in notice
    assert notice.count("checklist file changed") == 1, notice


@pytest.mark.parametrize("closing", ["session_finished", "session_abandoned"])
def test_resuming_a_closed_session_opens_it_read_only(
    mini: Checklist, session: Session, store: SessionStore, closing: str
) -> None:
    session.record("tick", item="pre.db-backup")
    session.record(closing)
    session.close()
    events_before = len(store.open(session.id, read_only=True).events)
    resumed, notice = open_session(
        store, session.id, mini, operator="bob", read_only=False, take_over=False
    )
    assert resumed.read_only and "read-only" in notice
    assert len(store.open(session.id, read_only=True).events) == events_before  # no resume event
    resumed.close()


async def test_resume_with_a_var_that_held_a_secret_asks_for_it_again(
    mini: Checklist, store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "canary-pw-8812")
    created = store.create(
        mini, vars={"dsn": "postgresql://app:canary-pw-8812@db/rs", "eb_env": "prod"},
        operator="ana",
    )
    assert created.meta.vars["dsn"] == "postgresql://app:****@db/rs"  # stored masked
    created.close()
    resumed, notice = open_session(
        store, created.id, mini, operator="ana", read_only=False, take_over=False
    )
    app = make_app(mini, resumed, notice=notice, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.ctx.values["dsn"] == ""  # never "****" inside a command
        assert app.ctx.values["eb_env"] == "prod"
        assert any("--set dsn=..." in str(n.message) for n in app._notifications)
    resumed.close()
    # Given again with --set, the value is used and nothing is asked.
    again, notice = open_session(
        store, created.id, mini, operator="ana", read_only=False, take_over=False
    )
    app = make_app(mini, again, notice=notice, values={"dsn": "postgresql://app:x@db/rs"},
                   use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.ctx.values["dsn"] == "postgresql://app:x@db/rs"
        assert not any("--set dsn" in str(n.message) for n in app._notifications)
    again.close()
