"""The resume dialog says what matters: is the lock holder alive, what still runs (for how
long), is a rollback on; "Start new" while a session is unfinished asks for a typed word."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.runner import cancel_run, start_run
from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.ui.screens.resume import ResumeModal
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

SIZE = (100, 32)


def details_shown(app: Any) -> str:
    return str(app.screen.query_one("#resume-details").render())


async def wait_details(pilot: Any) -> str:
    for _ in range(200):
        text = details_shown(pilot.app)
        if "Looking at" not in text:
            return text
        await pilot.pause(0.05)
    raise AssertionError("the details never came")


async def test_the_dialog_names_a_live_holder_a_running_command_and_a_rollback(
    mini: Checklist, session: Session, store: SessionStore, clock: Any
) -> None:
    run_dir = session.dir / "runs"
    handle = start_run(run_dir, "sleep 30", run_id="r1")
    try:
        session.record("command_started", item="deploy.eb-deploy", run="r1",
                       command="eb deploy mini-prod", pid=handle.pid,
                       log=str(handle.log_path), confirmed=None)
        session.record("rollback_started", reason="login broken", trigger=None)
        offer = store.latest(active_only=True, checklist_name=mini.name)
        app = make_app(mini, None, offer=offer, clock=clock, use_git=False,
                       open_choice=lambda choice: (session, None))
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, ResumeModal)
            text = await wait_details(pilot)
            # this test process holds the lock (the session is open): alive, here
            assert "ana on bastion-1" in text and "ALIVE" in text
            # fixed clock: 12 min 34 s after the session started
            assert "deploy.eb-deploy  eb deploy mini-prod  for 12 min" in text
            assert "Rollback IN PROGRESS" in text and "login broken" in text
            await pilot.press("escape")
    finally:
        cancel_run(run_dir, "r1", grace=0.5)


async def test_a_gone_holder_and_a_run_that_ended_while_away(
    mini: Checklist, session: Session, store: SessionStore, clock: Any
) -> None:
    run_dir = session.dir / "runs"
    handle = start_run(run_dir, "exit 3", run_id="r2")
    session.record("command_started", item="deploy.eb-deploy", run="r2",
                   command="eb deploy mini-prod", pid=handle.pid,
                   log=str(handle.log_path), confirmed=None)
    deadline = time.monotonic() + 20
    while not Path(handle.exit_path).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    session.close()  # released: the dialog must not call it alive
    offer = store.latest(active_only=True, checklist_name=mini.name)
    app = make_app(mini, None, offer=offer, clock=clock, use_git=False,
                   open_choice=lambda choice: (session, None))
    async with app.run_test(size=SIZE) as pilot:
        text = await wait_details(pilot)
        assert "Lock free" in text
        assert "ended while away (exit 3)" in text
        assert "Rollback" not in text


async def test_start_new_needs_the_word_typed(
    mini: Checklist, session: Session, store: SessionStore
) -> None:
    session.close()
    offer = store.latest(active_only=True, checklist_name=mini.name)
    chosen: list[str] = []

    def choose(choice: str) -> tuple[Session, str | None]:
        chosen.append(choice)
        return store.open(session.id, operator="ana"), None

    app = make_app(mini, None, offer=offer, use_git=False, open_choice=choose)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, TypedConfirmModal)
        assert "is unfinished" in str(dialog.query_one(".dialog-body").render())
        await pilot.press("y", "enter")  # not the word: refused, nothing chosen
        assert isinstance(app.screen, TypedConfirmModal) and chosen == []
        await pilot.press("escape")  # back to the question
        assert isinstance(app.screen, ResumeModal) and chosen == []
        await pilot.press("r")
        await pilot.pause()
    assert chosen == ["resume"]
    app.session.close()  # type: ignore[union-attr]
