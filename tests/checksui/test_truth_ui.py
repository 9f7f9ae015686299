"""The truth of a green in the runbook (#13.5-.8, #15): a vs A, done-but-failing, stale checks
re-run after exit 0, ticking over a failing check, the destructive-migration gate.

Asserted on the stored session (reloaded from disk) and on what the screen shows.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from checksui_pilot import SIZE, START, detail_text, line_of, runbook, settle, wait_for

from rsdeploy_tui.app import RunbookApp, make_app
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.runner import EnvStatus
from rsdeploy_tui.session import Session, SessionState, SessionStore
from rsdeploy_tui.ui.screens.modals import ReasonModal
from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal
from rsdeploy_tui.ui.widgets.header import RunbookHeader
from rsdeploy_tui.ui.widgets.progress import PhaseProgress

HERE = Path(__file__).resolve().parent
MANAGE_PY = HERE.parents[1] / "tests" / "support" / "fake_django" / "manage.py"
DESTRUCTIVE = "repairs.0002_remove_technician_is_manager"


def _ready(env_name: str, vars: Any) -> EnvStatus:
    """A canned banner answer: these tests are not about the banner and never ask AWS."""
    return EnvStatus(env_name, status="Ready", health="Green", version_label="v41")


@pytest.fixture
def truth() -> Checklist:
    return load_checklist(HERE / "truth.yaml")


@pytest.fixture
def django_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every fake manage.py invocation appends its argv here (did migrate run?)."""
    log = tmp_path / "manage.log"
    monkeypatch.setenv("FAKE_DJANGO_LOG", str(log))
    monkeypatch.setenv("FAKE_DJANGO_MIGRATIONS", "pending")
    monkeypatch.chdir(tmp_path)
    return log


@pytest.fixture
def truth_session(store: SessionStore, truth: Checklist, site: Any,
                  django_log: Path) -> Iterator[Session]:
    manage = shlex.join([sys.executable, str(MANAGE_PY)])
    values = resolve_vars(truth, {"base_url": site.base_url, "manage": manage}, config={})
    s = store.create(truth, vars=values, operator="ana")
    yield s
    s.close()


@pytest.fixture
def truth_app(truth: Checklist, truth_session: Session) -> Callable[[], RunbookApp]:
    def build() -> RunbookApp:
        return make_app(truth, truth_session, values=dict(truth_session.meta.vars),
                        use_git=False, ascii_only=False,
                        clock=lambda: START + timedelta(minutes=5),
                        services={"env_status": _ready, "banner_interval": None})
    return build


def _load(store: SessionStore, truth: Checklist, session_id: str) -> SessionState:
    return store.open(session_id, read_only=True).state(truth)


def truth_session_checklist(session: Session) -> Checklist:
    return load_checklist(HERE / "truth.yaml")


def _checked(session: Session) -> list[str]:
    return [e.item for e in session.events if e.kind == "check_result"]


def _migrate_ran(log: Path) -> bool:
    if not log.exists():
        return False
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return any("migrate" in call and "--plan" not in call for call in calls)


async def _goto(pilot: Any, screen: Any, qid: str) -> None:
    def there() -> bool:
        if screen.current_item is None or screen.current_item.qid != qid:
            screen.focus_item(screen.checklist.item(qid))
            return False
        return True
    await wait_for(pilot, there)
    await pilot.pause()


async def test_a_leaves_done_items_and_A_rechecks_them(
        truth_app: Any, truth_session: Session) -> None:
    truth_session.record("tick", "pre.suite")  # a 30-minute suite, ticked after it passed
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await pilot.press("a")
        await settle(pilot, screen)
        assert sorted(_checked(truth_session)) == ["pre.backup", "pre.broken", "pre.ok"]
        await pilot.press("A")
        await settle(pilot, screen)
    assert _checked(truth_session).count("pre.suite") == 1


async def test_done_item_whose_recheck_fails_is_red_counted_and_logged(
        truth_app: Any, truth_session: Session, store: SessionStore, truth: Checklist) -> None:
    for qid in ("pre.ok", "pre.suite", "pre.broken", "pre.backup"):
        truth_session.record("tick", qid)
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await _goto(pilot, screen, "pre.broken")
        pane = screen._phase_pane()
        assert "4/4" in str(pane.query_one(PhaseProgress).render())
        await pilot.press("c")
        await settle(pilot, screen)
        assert "now failing" in line_of(screen, "pre.broken")
        assert "now failing" not in line_of(screen, "pre.ok")
        header = str(screen.query_one(RunbookHeader).render())
        assert "1 done item now failing" in header and "3/6 done" in header
        assert "3/4" in str(pane.query_one(PhaseProgress).render())
        assert "Now failing" in detail_text(screen)
    state = _load(store, truth, truth_session.id)
    assert state.item("pre.broken").state == "done" and state.item("pre.broken").failing
    assert state.counts(truth)[0] == 3
    from rsdeploy_tui.reports import render_report
    log = render_report(truth, store.open(truth_session.id, read_only=True), "md",
                        use_git=False)
    assert "now failing" in log.lower()


async def test_tick_over_a_failing_check_takes_a_reason_and_T_never_ticks_it(
        truth_app: Any, truth_session: Session, store: SessionStore, truth: Checklist) -> None:
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await _goto(pilot, screen, "pre.broken")
        await pilot.press("c")
        await settle(pilot, screen)
        await pilot.press("T")  # nothing passed: nothing ticked
        assert _load(store, truth, truth_session.id).item("pre.broken").state == "failed"
        await pilot.press("space")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReasonModal))
        await pilot.press(*"page checked by hand", "enter")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ReasonModal))
    item = _load(store, truth, truth_session.id).item("pre.broken")
    assert item.state == "done" and item.reason == "page checked by hand"
    tick = [e for e in truth_session.events if e.kind == "tick"][-1]
    assert tick.data == {"reason": "page checked by hand", "check_status": "fail"}


async def test_exit_0_makes_the_check_stale_and_runs_it_again(
        truth_app: Any, truth_session: Session, store: SessionStore, truth: Checklist) -> None:
    truth_session.record("check_result", "pre.backup", status="fail", summary="no dump",
                         evidence={})
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await wait_for(pilot, lambda: screen.runs.ready)
        await _goto(pilot, screen, "pre.backup")
        await pilot.press("r")
        await wait_for(pilot, lambda: any(e.kind == "check_result" and e.item == "pre.backup"
                                          and e.seq > 3 for e in truth_session.events))
        await settle(pilot, screen)
    kinds = [e.kind for e in truth_session.events if e.item == "pre.backup"]
    assert kinds[-3:] == ["command_started", "command_finished", "check_result"]
    item = _load(store, truth, truth_session.id).item("pre.backup")
    assert not item.check_stale and item.state == "failed"  # the fresh check decides


async def test_destructive_migrations_need_their_names_typed(
        truth_app: Any, truth_session: Session, django_log: Path) -> None:
    # The shape checks/django.py records for a plan that drops a column.
    truth_session.record("check_result", "deploy.plan", status="fail",
                         summary="1 pending migration(s), 1 destructive", evidence={
                             "pending": [DESTRUCTIVE],
                             "destructive": [{"migration": DESTRUCTIVE,
                                              "operation": "Remove field is_manager from "
                                                           "technician",
                                              "destructive": True}]})
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await wait_for(pilot, lambda: screen.runs.ready)
        await _goto(pilot, screen, "deploy.run-migrations")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TypedConfirmModal))
        await pilot.press(*"yes", "enter")  # not the names: refused, nothing runs
        await pilot.pause()
        assert isinstance(pilot.app.screen, TypedConfirmModal)
        assert not _migrate_ran(django_log)
        box = pilot.app.screen.query_one("#typed")
        box.value = ""
        await pilot.press(*DESTRUCTIVE, "enter")
        await wait_for(pilot, lambda: any(e.kind == "command_finished"
                                          for e in truth_session.events))
    assert _migrate_ran(django_log)
    confirmation = next(e for e in truth_session.events if e.kind == "confirmation")
    assert confirmation.data["purpose"] == "destructive_migrations"
    assert confirmation.data["migrations"] == [DESTRUCTIVE]
    assert confirmation.data["text"] == DESTRUCTIVE
    started = next(e for e in truth_session.events if e.kind == "command_started")
    assert started.seq > confirmation.seq
    from rsdeploy_tui.reports import render_report
    log = render_report(truth_session_checklist(truth_session), truth_session, "md",
                        use_git=False)
    assert f"- Override: Run migrations: destructive migrations confirmed by typing their " \
           f"names ({DESTRUCTIVE})" in log


async def test_migrations_with_no_check_need_a_typed_reason(
        truth_app: Any, truth_session: Session, django_log: Path) -> None:
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await wait_for(pilot, lambda: screen.runs.ready)
        await _goto(pilot, screen, "deploy.run-migrations")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReasonModal))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ReasonModal))
        assert not _migrate_ran(django_log)
        assert not any(e.kind == "command_started" for e in truth_session.events)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReasonModal))
        await pilot.press(*"plan read in review", "enter")
        await wait_for(pilot, lambda: any(e.kind == "command_finished"
                                          for e in truth_session.events))
    assert _migrate_ran(django_log)
    confirmation = next(e for e in truth_session.events if e.kind == "confirmation")
    assert confirmation.data["purpose"] == "migrations_unchecked"
    assert confirmation.data["reason"] == "plan read in review"
    from rsdeploy_tui.reports import render_report
    log = render_report(truth_session_checklist(truth_session), truth_session, "md",
                        use_git=False)
    assert "- Override: Run migrations: migrations run without a migration check; reason: " \
           "plan read in review" in log


async def test_migrations_run_at_once_when_the_check_found_nothing_destructive(
        truth_app: Any, truth_session: Session, django_log: Path) -> None:
    truth_session.record("check_result", "deploy.plan", status="pass",
                         summary="2 pending migration(s), none destructive",
                         evidence={"pending": ["repairs.0012_repair_status"], "destructive": []})
    async with truth_app().run_test(size=SIZE) as pilot:
        screen = runbook(pilot.app)
        await wait_for(pilot, lambda: screen.runs.ready)
        await _goto(pilot, screen, "deploy.run-migrations")
        await pilot.press("r")
        await wait_for(pilot, lambda: any(e.kind == "command_finished"
                                          for e in truth_session.events))
    assert _migrate_ran(django_log)
    assert not any(e.kind == "confirmation" for e in truth_session.events)


async def test_real_django_destructive_migration_stops_until_its_name_is_typed(
        truth: Checklist, store: SessionStore, site: Any, make_django_project: Any,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """End to end with real Django: the session's own migrations check (c) reads the plan of
    a project whose next migration drops a column; r on "Run migrations" then waits for the
    migration's name, and only then does `migrate` drop it."""
    project = make_django_project(migrated="before_destructive")
    for name, value in project.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    values = resolve_vars(truth, {"base_url": site.base_url, **project.vars}, config={})
    session = store.create(truth, vars=values, operator="ana")
    app = make_app(truth, session, values=values, use_git=False, ascii_only=False,
                   clock=lambda: START + timedelta(minutes=5),
                   services={"env_status": _ready, "banner_interval": None})
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(pilot.app)
            await wait_for(pilot, lambda: screen.runs.ready)
            await _goto(pilot, screen, "deploy.plan")
            await pilot.press("c")
            await settle(pilot, screen)
            check = session.state(truth).item("deploy.plan").check
            assert check is not None and check.status == "fail", check
            await _goto(pilot, screen, "deploy.run-migrations")
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, TypedConfirmModal))
            assert DESTRUCTIVE in str(pilot.app.screen.query_one(".dialog-body").render())
            # Not typed yet: the column is still there.
            assert "[ ] 0002_remove_technician_is_manager" in project.run(
                "showmigrations", "repairs").stdout
            await pilot.press(*DESTRUCTIVE, "enter")
            await wait_for(pilot, lambda: any(e.kind == "command_finished"
                                              for e in session.events))
    finally:
        session.close()
    stored = store.open(session.id, read_only=True)
    runs = stored.state(truth).item("deploy.run-migrations").runs
    assert runs and runs[-1].exit_code == 0
    assert "[X] 0002_remove_technician_is_manager" in project.run(
        "showmigrations", "repairs").stdout
    confirmation = next(e for e in stored.events if e.kind == "confirmation")
    assert confirmation.data["purpose"] == "destructive_migrations"
    assert confirmation.data["migrations"] == [DESTRUCTIVE]
