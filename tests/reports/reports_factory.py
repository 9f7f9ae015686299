"""Sessions for the report tests: recorded through the real SessionStore with a fixed clock.

They follow ``fixtures/rs-systems-frozen.yaml``, a frozen trimmed copy of the bundled checklist, so
edits to ``checklists/rs-systems.yaml`` never move a golden file; ``test_report_shipped.py``
renders the real bundled checklist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.checklist.vars import expand, resolve_vars
from rsdeploy_tui.session import Session, SessionStore

CANARY = "canary-Zq7xW9pL3"
"""A secret value put in the environment and typed into notes: must never reach a report."""

Built = dict[str, tuple[Session, Checklist]]
"""Scenario name -> (session, checklist), as the ``scenarios`` fixture yields them."""

START = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves 30 seconds each time it is read (events get distinct, stable times)."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=30)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class FixedClock:
    """A clock that does not move (for the report's "generated at")."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


FROZEN = Path(__file__).parent / "fixtures" / "rs-systems-frozen.yaml"


def frozen() -> Checklist:
    """The frozen test checklist (what the golden files are built on)."""
    return load_checklist(FROZEN)


def shipped() -> Checklist:
    """The checklist bundled with rsdeploy-tui, as it is today."""
    return load_checklist(None)


def session_vars(checklist: Checklist, app_dir: Path, **extra: str) -> dict[str, str]:
    values = resolve_vars(checklist, {"version": "v1.4.0", "sprint": "12",
                                      "app_dir": str(app_dir), **extra}, config={})
    return values


def _tick_phase(session: Session, checklist: Checklist, phase: str,
                skip: dict[str, str] | None = None) -> None:
    for item in checklist.phase(phase).items:
        if skip and item.qid in skip:
            session.record("skip", item.qid, reason=skip[item.qid])
        else:
            session.record("tick", item.qid)


def _run(session: Session, qid: str, run: str, command: str, exit_code: int | None,
         tail: list[str] | None = None) -> None:
    session.record("command_started", qid, run=run, command=command, pid=4242,
                   log=f"runs/{run}.log", confirmed=None)
    if exit_code is not None:
        session.record("command_finished", qid, run=run, exit_code=exit_code, duration_s=4.5,
                       tail=tail or [])


def _common_start(session: Session, checklist: Checklist) -> None:
    session.record("fact", name="previous_version", value="v1.3.2")
    session.record("fact", name="changes",
                   value=["Managers can assign REQUESTED repairs",
                          "Technicians cannot bypass approval (security fix)",
                          "Assignment notifications include repair links"])
    session.record("phase_entered", phase="pre")
    _tick_phase(session, checklist, "pre",
                skip={"pre.s3-bucket-configured": "media stays on the instance, no S3 bucket"})
    session.record("note", "pre.known-issues",
                   text=f"Photo thumbnails slow on Safari; DB_PASSWORD={CANARY} was in a paste")
    session.record("check_result", "pre.no-destructive-migrations", status="pass",
                   summary="2 pending migration(s), 3 operation(s), none destructive",
                   duration_s=1.2,
                   evidence={"command": "python manage.py migrate --plan",
                             "pending": ["repairs.0042_manager_assignment",
                                         "repairs.0043_customer_approval"],
                             "operations": [], "destructive": []})
    session.record("check_result", "pre.ssl-certificate-active", status="pass",
                   summary="certificate valid for 61 days", duration_s=0.3,
                   evidence={"not_after": "2027-01-20T00:00:00Z",
                             "host": "rockstarwindshield.repair"})
    session.record("phase_entered", phase="deploy")
    session.record("fact", name="backup_key",
                   value="s3://rs-systems-backups-20250823/emergency/pre_deployment_backup.dump")


def shown_command(checklist: Checklist, qid: str, values: dict[str, str]) -> str:
    """An item's command as the runner records it (vars expanded for display)."""
    command = checklist.item(qid).command
    assert command is not None, qid
    return expand(command, values, secrets=checklist.secrets)


def make_store(root: Path) -> tuple[SessionStore, StepClock]:
    clock = StepClock()
    return SessionStore(root, clock=clock), clock


def finished_session(root: Path, app_dir: Path) -> tuple[Session, Checklist]:
    """Every phase up to post-deployment done, maintenance window, migrations, finished."""
    checklist = frozen()
    store, _ = make_store(root)
    session = store.create(checklist, vars=session_vars(checklist, app_dir), operator="ana")
    _common_start(session, checklist)
    session.record("fact", name="maintenance_on", value=True)
    for item in checklist.phase("deploy").items:
        if item.qid == "deploy.run-migrations":
            # the tail holds only the last lines: 0042 is applied as planned, not shown
            _run(session, item.qid, "run-0001", "python manage.py migrate", 0,
                 ["  Applying repairs.0043_customer_approval... OK"])
        session.record("tick", item.qid)
    session.record("fact", name="maintenance_off", value=True)
    session.record("gate_override", phase="post",
                   reason="deploy.health-green was Yellow for 2 minutes after restart; "
                          "recovered")
    session.record("phase_entered", phase="post")
    _tick_phase(session, checklist, "post")
    _tick_phase(session, checklist, "comms")
    session.record("note", None, text="Smooth deployment; CPU back to normal within 5 minutes")
    session.record("session_finished")
    return session, checklist


def half_done_session(root: Path, app_dir: Path) -> tuple[Session, Checklist]:
    """Pre-deployment done, deployment halfway: a failed check and a command still running."""
    checklist = frozen()
    store, _ = make_store(root)
    session = store.create(checklist, vars=session_vars(checklist, app_dir), operator="ana")
    _common_start(session, checklist)
    session.record("tick", "deploy.db-backup-now")
    session.record("check_result", "deploy.verify-backup-integrity", status="fail",
                   summary="backup object is 0 bytes", duration_s=0.4,
                   evidence={"key": "emergency/pre_deployment_backup.dump", "size": 0})
    _run(session, "deploy.eb-deploy", "run-0002", "eb deploy rs-systems-prod", None)
    return session, checklist


def rolled_back_session(root: Path, app_dir: Path) -> tuple[Session, Checklist]:
    """Deployed, health check failed, rolled back through the Rollback phase, finished."""
    checklist = frozen()
    store, _ = make_store(root)
    values = session_vars(checklist, app_dir)
    session = store.create(checklist, vars=values, operator="ana")
    _common_start(session, checklist)
    _tick_phase(session, checklist, "deploy")
    session.record("phase_entered", phase="post")
    session.record("check_result", "post.health-check", status="fail",
                   summary="GET /health answered 502", duration_s=0.2,
                   evidence={"status": 502, "url": "https://rockstarwindshield.repair/health"})
    session.record("rollback_started", reason="Health check answering 502 after deploy",
                   trigger="critical-functionality")
    session.record("phase_entered", phase="rollback")
    # recorded as the runner shows it: the checklist's command, comment line and all
    _run(session, "rollback.maintenance-mode-on", "run-0003",
         shown_command(checklist, "rollback.maintenance-mode-on", values), 0)
    session.record("tick", "rollback.maintenance-mode-on")
    session.record("tick", "rollback.redeploy-previous-tag")
    _run(session, "rollback.migrate-back", "run-0004",
         "python manage.py migrate repairs 0041", 1, ["django.db.utils.ProgrammingError"])
    session.record("note", "rollback.migrate-back", text="Restored from the dump instead")
    session.record("skip", "rollback.migrate-back", reason="database restored from backup")
    session.record("tick", "rollback.restore-db-backup")
    _run(session, "rollback.verify-rollback", "run-0005",
         "eb setenv MAINTENANCE_MODE=false -e rs-systems-prod", 0)
    session.record("tick", "rollback.verify-rollback")
    session.record("tick", "rollback.notify-rollback")
    session.record("session_finished")
    return session, checklist
