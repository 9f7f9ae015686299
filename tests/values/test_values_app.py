"""One set of values in the app (#14): what the dialog, facts and set values give reaches the
commands, the checks and the detail panel, and the panel shows exactly what runs.

Real parts: the bundled checklist, the detached runner (real git, the fake eb CLI), the EB API
stub behind boto3 (``eb_stub``), the session store on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.screens.modals import DeploymentInfoModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal

SIZE = (120, 40)


def services() -> dict[str, Any]:
    """No environment banner: these tests look at values, runs and checks."""
    return {"banner": False, "banner_interval": None}


def runbook(app: Any) -> RunbookScreen:
    for screen in app.screen_stack:
        if isinstance(screen, RunbookScreen):
            return screen
    raise AssertionError("no runbook screen")


async def wait_for(pilot: Any, condition: Callable[[], object], what: str,
                   timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def goto(pilot: Any, app: Any, qid: str) -> RunbookScreen:
    screen = runbook(app)

    def there() -> bool:
        if screen.current_item is None or screen.current_item.qid != qid:
            screen.focus_item(screen.checklist.item(qid))
            return False
        return True

    await wait_for(pilot, there, f"the cursor on {qid}")
    await pilot.pause(0.05)
    return screen


def detail(screen: RunbookScreen) -> str:
    pane = screen._phase_pane()
    assert pane is not None
    return str(pane.detail.query_one("#detail-body").render())


def command_in_panel(shown: str, heading: str = "Command  [") -> str:
    """The text under the panel's Command (or Action) heading, up to the next blank line."""
    assert heading in shown, shown
    block = shown.split(heading, 1)[1].split("\n", 1)[1]
    return block


def events(session: Session, kind: str, item: str | None = None) -> list[Any]:
    return [e for e in session.events if e.kind == kind and (item is None or e.item == item)]


async def test_the_version_typed_at_start_reaches_the_git_tag_and_the_eb_deployed_check(
        bundled: Checklist, session: Session, reopen: Any, aws_env: Any, eb_stub: Any,
        app_dir: Path) -> None:
    # The environment still runs the old version: the check must compare with v1.4.2 (it said
    # "ERROR no target version" while the dialog's version sat in a fact the check never read).
    eb_stub.add_environment("rs-systems-prod", version_label="v1.4.1")
    app = make_app(bundled, session, ask_deployment_info=True, use_git=False,
                   services=services())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentInfoModal), "the dialog")
        await pilot.press(*"v1.4.2", "tab", *"14", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookScreen), "the runbook")

        screen = await goto(pilot, app, "deploy.git-tag")
        shown = detail(screen)
        assert 'git tag -a v1.4.2 -m "Production deployment - Sprint 14"' in shown
        await pilot.press("r")
        await wait_for(pilot, lambda: events(session, "command_started", "deploy.git-tag"),
                       "the git tag run")
        recorded = events(session, "command_started", "deploy.git-tag")[0].data["command"]
        assert recorded.startswith("git tag -a v1.4.2 -m \"Production deployment - Sprint 14\"")
        assert command_in_panel(shown).startswith(recorded.rstrip("\n") + "\n")

        screen = await goto(pilot, app, "deploy.deploy-complete")
        await pilot.press("c")
        await wait_for(pilot, lambda: events(session, "check_result", "deploy.deploy-complete"),
                       "the eb_deployed check")
    result = events(reopen(session.id), "check_result", "deploy.deploy-complete")[0].data
    assert result["evidence"]["target_version"] == "v1.4.2", result
    assert result["status"] == "fail" and "expected v1.4.2" in result["summary"]


async def test_a_captured_previous_version_reaches_the_rollback_check_panel_and_run(
        bundled: Checklist, session: Session, reopen: Any, aws_env: Any, eb_stub: Any,
        fake_eb: Path) -> None:
    eb_stub.add_environment("rs-systems-prod", version_label="v1.4.2")
    session.record("fact", item="deploy.capture-version", name="previous_version", value="1")
    qid = "rollback.restore-previous-eb-version"
    app = make_app(bundled, session, use_git=False, services=services())
    async with app.run_test(size=SIZE) as pilot:
        screen = await goto(pilot, app, qid)
        shown = detail(screen)
        assert "eb deploy rs-systems-prod --version 1\n" in shown
        assert "version: 1\n" in shown  # the check's param, as the check will read it
        assert "not set" not in shown

        await pilot.press("c")
        await wait_for(pilot, lambda: events(session, "check_result", qid), "the check")

        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TypedConfirmModal), "the confirm")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "Redeploys version label 1 to rs-systems-prod" in body
        await pilot.press(*"rs-systems-prod", "enter")
        await wait_for(pilot, lambda: events(session, "command_finished", qid), "the run")
    stored = reopen(session.id)
    result = events(stored, "check_result", qid)[0].data
    assert result["evidence"]["target_version"] == "1", result  # not "no target version"
    assert "expected 1" in result["summary"]
    recorded = events(stored, "command_started", qid)[0].data["command"]
    assert command_in_panel(shown).startswith(recorded.rstrip("\n") + "\n")
    assert "eb deploy rs-systems-prod --version 1" in recorded


async def test_migrate_back_shows_the_per_app_command_that_runs(
        bundled: Checklist, session: Session, reopen: Any) -> None:
    """The panel showed `python manage.py migrate` (blanks) while `migrate repairs 0001` ran."""
    session.record("fact", item="pre.no-destructive-migrations", name="migration_plan",
                   value=["repairs.0002_add_status", "repairs.0003_index"])
    qid = "rollback.migrate-back"
    app = make_app(bundled, session, use_git=False, services=services())
    async with app.run_test(size=SIZE) as pilot:
        screen = await goto(pilot, app, qid)
        shown = detail(screen)
        assert "python manage.py migrate repairs 0001\n" in shown
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TypedConfirmModal), "the confirm")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "Migrations of repairs go back to 0001" in body
        await pilot.press(*"rs-systems-prod", "enter")
        await wait_for(pilot, lambda: events(session, "command_started", qid), "the run")
    recorded = events(reopen(session.id), "command_started", qid)[0].data["command"]
    assert command_in_panel(shown).startswith(recorded.rstrip("\n") + "\n")


async def test_a_value_set_in_the_app_is_recorded_and_used_at_once_and_secrets_are_refused(
        bundled: Checklist, session: Session, reopen: Any) -> None:
    from rsdeploy_tui.ui.screens.set_value import SetValueModal

    qid = "rollback.redeploy-previous-tag"
    app = make_app(bundled, session, use_git=False, services=services())
    async with app.run_test(size=SIZE) as pilot:
        screen = await goto(pilot, app, qid)
        shown = detail(screen)
        assert "git checkout \u2039previous_tag: not set\u203a\n" in shown
        assert screen.check_action("set_value", ()) is True  # in the footer here
        await pilot.press("r")  # refused, and says how to give it
        await pilot.pause(0.2)
        assert not events(session, "command_started", qid)

        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, SetValueModal), "the dialog")
        modal = app.screen
        assert modal.query_one("#value-name").value == "previous_tag"
        await pilot.press(*"v1.4.1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookScreen), "the runbook")
        assert "git checkout v1.4.1\n" in detail(screen)
        assert screen.check_action("set_value", ()) is False  # nothing missing any more

        # A secret is refused in the dialog, which says where secrets come from.
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, SetValueModal), "the dialog")
        modal = app.screen
        modal.query_one("#value-name").value = "DB_PASSWORD"
        modal.set_focus(modal.query_one("#value-value"))
        await pilot.press(*"hunter22", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, SetValueModal)
        error = str(app.screen.query_one("#value-error").render())
        assert "DB_PASSWORD is a secret" in error and "environment" in error
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookScreen), "the runbook")
    stored = reopen(session.id)
    sets = events(stored, "value_set")
    assert [(e.data["name"], e.data["value"], e.data["old"], e.operator) for e in sets] == [
        ("previous_tag", "v1.4.1", "", "ana")]
    assert "hunter22" not in (Path(session.dir) / "events.jsonl").read_text()


async def test_the_restore_confirmation_names_the_database_and_the_dump(
        bundled: Checklist, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_NAME", "rs_prod")
    monkeypatch.setenv("DB_USER", "rs")
    for name, value in (("backup_bucket", "rs-backups"),
                        ("backup_key", "emergency/s1/db-backup-20261126T020500Z.dump"),
                        ("backup_size", 43008), ("backup_at", "2026-11-26T02:05:00+00:00"),
                        ("backup_verified", True),
                        ("backup_verified_key", "emergency/s1/db-backup-20261126T020500Z.dump")):
        session.record("fact", item="deploy.db-backup-now", name=name, value=value)
    qid = "rollback.restore-db-backup-here"
    app = make_app(bundled, session, use_git=False, services=services())
    async with app.run_test(size=SIZE) as pilot:
        screen = await goto(pilot, app, qid)
        shown = detail(screen)
        assert "Database: rs_prod on db.internal:5432 (user rs)" in shown  # pre-filled part
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TypedConfirmModal), "the confirm")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "Database: rs_prod on db.internal:5432 (user rs)" in body
        assert ("Dump: s3://rs-backups/emergency/s1/db-backup-20261126T020500Z.dump "
                "(42.0 KiB, taken 2026-11-26T02:05:00, verified") in body
        assert app.screen.expected == "rs-systems-prod"  # the text to type stays the env name
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert not events(session, "command_started", qid)
