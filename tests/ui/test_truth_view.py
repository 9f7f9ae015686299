"""Pure view rules for the truth of a green (#13.7, #13.8, #15): marks, counts, gates, stale
results, and how the app knows a command migrates forward."""

from __future__ import annotations

import pytest

from rsdeploy_tui.checklist.model import Checklist, Item, Phase, Section
from rsdeploy_tui.checklist.model import Check as ItemCheck
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.session.state import derive_state
from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.glyphs import UNICODE
from rsdeploy_tui.ui.migration_gate import migration_gate, runs_forward_migrate


@pytest.mark.parametrize(("command", "forward"), [
    ("python manage.py migrate", True),
    ("cd /var/app/current\nsource venv/bin/activate\npython manage.py migrate --noinput", True),
    ("python manage.py migrate repairs", True),  # one app, forward to its latest
    ("eb ssh prod --command \"cd /app && python manage.py migrate\"", True),
    ("/venv/bin/python /srv/app/manage.py migrate --database default", True),
    ("django-admin migrate", True),
    ("python manage.py migrate --plan", False),
    ("python manage.py migrate --check", False),
    ("python manage.py migrate repairs 0041", False),  # an explicit target: the rollback step
    ("python manage.py migrate repairs zero", False),
    ("python manage.py showmigrations", False),
    ("python manage.py makemigrations", False),
    ("# python manage.py migrate\necho later", False),
])
def test_how_the_app_knows_a_command_migrates_forward(command: str, forward: bool) -> None:
    assert runs_forward_migrate(command) is forward


def _checklist() -> Checklist:
    items = (
        Item("backup", "pre", "s", "Production database backed up", critical=True,
             command="true", check=ItemCheck("s3_object", {})),
        Item("plan", "pre", "s", "No destructive migrations", check=ItemCheck("migrations", {})),
        Item("notes", "pre", "s", "Release notes"),
    )
    return Checklist(name="t", phases=(Phase("pre", "Pre", (Section("s", "S", items),)),))


def _events(*specs: tuple[str, str | None, dict]) -> list[Event]:
    return [Event(n, kind, f"2026-12-03T10:{n:02d}:00.000Z", "ana", "h", item, data)
            for n, (kind, item, data) in enumerate(specs, start=1)]


def test_a_done_item_now_failing_has_its_own_mark_and_is_not_counted() -> None:
    checklist = _checklist()
    state = derive_state(_events(
        ("tick", "pre.backup", {}), ("tick", "pre.notes", {}),
        ("check_result", "pre.backup", {"status": "fail", "summary": "no dump"}),
    ), checklist)
    backup = checklist.item("pre.backup")
    line = view.item_prompt(backup, state.items["pre.backup"], backup.text, UNICODE)
    assert str(line).startswith("[x] ✗ Production database backed up now failing")
    assert view.phase_counts(checklist.phases[0], state) == (1, 3)
    assert view.overall_counts(checklist, state) == (1, 3, 1)
    assert view.failing_items(checklist.iter_items(), state) == [backup]
    assert not view.is_done(state, "pre.backup")  # a gate on it does not open
    detail = str(view.detail_text(checklist, backup, state, str, UNICODE))
    assert "Now failing" in detail


def test_a_check_older_than_the_last_successful_run_reads_stale() -> None:
    checklist = _checklist()
    state = derive_state(_events(
        ("check_result", "pre.backup", {"status": "fail", "summary": "no dump"}),
        ("command_started", "pre.backup", {"run": "r1", "command": "true"}),
        ("command_finished", "pre.backup", {"run": "r1", "exit_code": 0}),
        ("tick", "pre.backup", {}),
    ), checklist)
    backup = checklist.item("pre.backup")
    found = state.items["pre.backup"]
    assert found.check_stale and not found.failing
    assert str(view.item_prompt(backup, found, backup.text, UNICODE)).startswith(
        f"[x] {view.STALE_GLYPH} ")
    detail = str(view.detail_text(checklist, backup, state, str, UNICODE))
    assert "STALE" in detail and "was FAIL" in detail


def test_the_migration_gate_reads_the_latest_migrations_check() -> None:
    checklist = _checklist()
    assert migration_gate(checklist, derive_state([], checklist)).destructive == ()  # unchecked
    destructive = {"status": "fail", "summary": "1 destructive", "evidence": {"destructive": [
        {"migration": "repairs.0002_remove_technician_is_manager",
         "operation": "Remove field is_manager from technician", "destructive": True}]}}
    state = derive_state(_events(("check_result", "pre.plan", destructive)), checklist)
    gate = migration_gate(checklist, state)
    assert gate is not None and gate.names == ["repairs.0002_remove_technician_is_manager"]
    clean = {"status": "pass", "summary": "none destructive", "evidence": {"destructive": []}}
    later = derive_state(_events(("check_result", "pre.plan", destructive),
                                 ("check_result", "pre.plan", clean)), checklist)
    assert migration_gate(checklist, later) is None
    errored = {"status": "error", "summary": "manage.py not found", "evidence": {}}
    unread = derive_state(_events(("check_result", "pre.plan", errored)), checklist)
    gate = migration_gate(checklist, unread)
    assert gate is not None and gate.destructive == () and "did not read the plan" in gate.why
