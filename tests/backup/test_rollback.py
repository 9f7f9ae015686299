"""Rollback pre-filled from session facts; missing facts reported instead of run blank."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from backup_harness import BUCKET, Deployment

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.rollback import (
    plan_missing,
    rollback_plan,
    triggered_rollbacks,
    vars_with_facts,
)


@pytest.fixture(scope="module")
def bundled() -> Checklist:
    return load_checklist()


def steps_by_id(checklist: Checklist, facts: dict[str, Any]) -> dict[str, Any]:
    values = resolve_vars(checklist, {}, config={})
    plan = rollback_plan(checklist, SimpleNamespace(facts=facts), values)
    return {step.item.id: step for step in plan}


def test_rollback_is_prefilled_with_the_captured_version_and_this_sessions_backup(
        deployment: Deployment, aws_env: Any) -> None:
    aws_env.create_eb_environment("rs-systems", "rs-systems-prod", version_label="v1.9.0")
    result, code = deployment.run("deploy.capture-version")
    assert code == 0, result.summary
    assert deployment.facts["previous_version"] == "v1.9.0"
    assert deployment.run("deploy.db-backup-now")[1] == 0
    facts = deployment.facts

    state = deployment.session.state(deployment.checklist)
    steps = {s.item.id: s for s in rollback_plan(deployment.checklist, state, deployment.vars)}
    redeploy = steps["restore-previous-eb-version"]
    assert redeploy.ready and redeploy.confirm == "rs-systems-prod"
    assert "eb deploy rs-systems-prod --version v1.9.0" in redeploy.shell.splitlines()
    restore = steps["restore-db-backup"]
    assert restore.ready, restore.missing
    lines = restore.shell.splitlines()
    assert f"aws s3 cp s3://{BUCKET}/{facts['backup_key']} ./" in lines
    assert f"psql -h $DB_HOST -U $DB_USER -d $DB_NAME < {facts['backup_file']}" in lines
    assert facts["backup_key"].endswith(facts["backup_file"])
    assert restore.notes and "not verified" in restore.notes[0]

    assert deployment.run("deploy.verify-backup-integrity")[1] == 0
    state = deployment.session.state(deployment.checklist)
    steps = {s.item.id: s for s in rollback_plan(deployment.checklist, state, deployment.vars)}
    assert steps["restore-db-backup"].notes == []


def test_capture_refuses_when_the_new_version_is_already_live(
        deployment: Deployment, aws_env: Any) -> None:
    # the session deploys v2.0.0 (see the fixture); the environment already runs it
    aws_env.create_eb_environment("rs-systems", "rs-systems-prod", version_label="v2.0.0")
    result, code = deployment.run("deploy.capture-version")
    assert code == 1 and "Already on the new version" in result.summary
    assert "previous_version" not in deployment.facts


def test_missing_facts_are_named_with_how_to_get_them_and_nothing_runs_blank(
        bundled: Checklist) -> None:
    steps = steps_by_id(bundled, {})
    redeploy = steps["restore-previous-eb-version"]
    assert not redeploy.ready and redeploy.shell is None
    assert redeploy.missing == [
        "previous_version not captured — run 'Capture current EB version' in Deployment, "
        "or press v to set it (the version label live before the deploy; from a shell: "
        "`rsdeploy-tui resume --set previous_version=LABEL`)"
    ]
    assert bundled.item("deploy.capture-version").text.startswith("Capture current EB version")
    restore = steps["restore-db-backup"]
    assert restore.shell is None
    assert any("Create immediate database backup" in m for m in restore.missing)
    assert any("backup_key" in m for m in restore.missing)
    # shown as visibly missing, never with a blank
    assert ("aws s3 cp s3://rs-systems-backups-20250823/\u2039backup_key: not set\u203a ./"
            in restore.command)
    assert not steps["migrate-back"].ready
    assert not steps["restore-media"].ready
    # steps that need no fact are ready
    assert steps["maintenance-mode-on"].ready
    assert "eb setenv MAINTENANCE_MODE=true -e rs-systems-prod" in steps[
        "maintenance-mode-on"].shell
    assert steps["verify-rollback"].ready
    missing = plan_missing(steps.values())
    assert len(missing) == len(set(missing)) and len(missing) >= 4


def test_a_custom_format_backup_is_restored_with_pg_restore(bundled: Checklist) -> None:
    facts = {"backup_key": "emergency/s1/db-backup-20260101T000000Z.dump",
             "backup_file": "db-backup-20260101T000000Z.dump", "backup_format": "custom",
             "backup_verified": True}
    restore = steps_by_id(bundled, facts)["restore-db-backup"]
    assert restore.ready and restore.notes == []
    assert ("pg_restore --clean --if-exists --no-owner -h $DB_HOST -U $DB_USER -d $DB_NAME "
            "db-backup-20260101T000000Z.dump") in restore.shell.splitlines()
    assert "psql" not in restore.shell


def test_migrations_go_back_per_recorded_app(bundled: Checklist) -> None:
    facts = {"previous_migrations": {"repairs": "0012_status", "accounts": "0003_email"}}
    step = steps_by_id(bundled, facts)["migrate-back"]
    assert step.ready
    lines = step.shell.splitlines()
    assert "python manage.py migrate accounts 0003_email" in lines
    assert "python manage.py migrate repairs 0012_status" in lines


def test_vars_with_facts() -> None:
    merged = vars_with_facts(
        {"eb_env": "prod", "previous_version": "", "backup_key": "set-by-hand"},
        {"previous_version": "v7", "backup_key": "", "backup_verified": True,
         "restore_row_counts": {"a": 1}},
    )
    assert merged["previous_version"] == "v7"
    assert merged["backup_key"] == "set-by-hand"  # an empty fact does not blank a var
    assert merged["backup_verified"] == "true"
    assert "restore_row_counts" not in merged


def test_failed_checks_on_trigger_items_name_the_criterion(tmp_path: Any,
                                                           bundled: Checklist) -> None:
    from rsdeploy_tui.session import SessionStore

    store = SessionStore(root=tmp_path / "sessions")
    with store.create(bundled, vars={}, operator="tester") as session:
        assert triggered_rollbacks(bundled, session.state(bundled)) == []
        session.record("check_result", item="post.health-check", status="pass", summary="ok",
                       duration_s=0.1, evidence={})
        session.record("check_result", item="post.analytics-charts", status="fail",
                       summary="no trigger on this item", duration_s=0.1, evidence={})
        assert triggered_rollbacks(bundled, session.state(bundled)) == []
        session.record("check_result", item="post.customer-login", status="fail",
                       summary="HTTP 500", duration_s=0.1, evidence={})
        fired = triggered_rollbacks(bundled, session.state(bundled))
        assert [(c.id, qid) for c, qid in fired] == [("login-failure", "post.customer-login")]
        assert fired[0][0].text == "Unable to login (any portal)"


def test_migrations_go_back_to_before_the_recorded_plan(bundled: Checklist) -> None:
    # the fact the migrations check records: `migrate --plan` output lines
    plan = ["Planned operations:", "repairs.0042_manager_assignment",
            "    Add field manager to repair", "repairs.0043_customer_approval",
            "    Alter field status on repair", "accounts.0001_initial", "    Create model Profile"]
    step = steps_by_id(bundled, {"migration_plan": plan})["migrate-back"]
    assert step.ready
    lines = step.shell.splitlines()
    assert "python manage.py migrate repairs 0041" in lines
    assert "python manage.py migrate accounts zero" in lines
    # an operator's explicit --set wins over the recorded plan
    values = resolve_vars(bundled, {"rollback_app": "repairs", "rollback_migration": "0040"},
                          config={})
    (step,) = [s for s in rollback_plan(bundled, SimpleNamespace(facts={"migration_plan": plan}),
                                        values) if s.item.id == "migrate-back"]
    assert "python manage.py migrate repairs 0040" in step.shell.splitlines()
    assert "accounts" not in step.shell
