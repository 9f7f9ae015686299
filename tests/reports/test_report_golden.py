"""Golden deployment logs for a finished, a half-done and a rolled-back session.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/reports`` and read the
diff before committing it.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from reports_factory import CANARY, START, Built, FixedClock

from rsdeploy_tui.reports import build_log, render_report
from rsdeploy_tui.session import Session

GOLDEN = Path(__file__).parent / "golden"
REPORT_TIME = FixedClock(START + timedelta(hours=2))
SCENARIOS = ("finished", "half_done", "rolled_back")


def _stable(text: str, session: Session) -> str:
    """The session id carries a random suffix: name it once for the golden file."""
    return text.replace(session.id, "SESSION-ID")


@pytest.mark.parametrize("fmt", ["md", "json"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_report_matches_golden_file(scenario: str, fmt: str, scenarios: Built) -> None:
    session, checklist = scenarios[scenario]
    text = _stable(render_report(checklist, session, fmt, clock=REPORT_TIME, use_git=False),
                   session)
    golden = GOLDEN / f"{scenario}.{fmt}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if the change is intended, rerun with UPDATE_GOLDEN=1")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_reaches_a_report(scenario: str, scenarios: Built) -> None:
    session, checklist = scenarios[scenario]
    for fmt in ("md", "json"):
        text = render_report(checklist, session, fmt, clock=REPORT_TIME)
        assert CANARY not in text
    assert "DB_PASSWORD=****" in render_report(checklist, session, "md", clock=REPORT_TIME)


def test_finished_log_says_what_happened(scenarios: Built) -> None:
    session, checklist = scenarios["finished"]
    md = render_report(checklist, session, "md", clock=REPORT_TIME)
    assert "**Version**: v1.4.0 (previous: v1.3.2)" in md
    assert "**Sprint**: Sprint 12" in md
    assert "**Deployed By**: ana" in md
    assert "**Downtime**: 7 minutes (21:12 UTC - 21:19 UTC, maintenance mode)" in md
    # the plan from the migrations check, applied by the successful migrate run
    assert "### Migrations Run\n- repairs: 0042_manager_assignment\n"\
           "- repairs: 0043_customer_approval\n" in md
    assert "### Rollback Required\n- No" in md
    assert "- Health Check: ✅ Pass" in md
    assert "✅ met: All health checks passing" in md
    assert "❌ not met" not in md
    assert "overridden by ana: deploy.health-green was Yellow" in md
    # the appendix: every item, the migrate command and its exit code
    log = build_log(checklist, session, clock=REPORT_TIME)
    assert len(log["items"]) == len(checklist.items)
    assert "| `deploy.run-migrations` | `python manage.py migrate` | 0 |" in md
    assert "[Name]" not in md and "v1.X.X" not in md and "Sprint X" not in md


def test_half_done_log_shows_progress_and_open_work(scenarios: Built) -> None:
    session, checklist = scenarios["half_done"]
    md = render_report(checklist, session, "md", clock=REPORT_TIME)
    assert "in progress (as of 23:00 UTC)" in md
    assert "- Failed: Verify backup integrity: check fail: backup object is 0 bytes" in md
    assert "- Health Check: ⏳ Not verified (0 of 3 items done)" in md
    assert "| `deploy.eb-deploy` | `eb deploy rs-systems-prod` | running |" in md
    log = json.loads(render_report(checklist, session, "json", clock=REPORT_TIME))
    assert log["in_progress"] is True and log["ended_at"] is None
    assert log["rollback"]["required"] is False


def test_rolled_back_log_names_reason_trigger_and_downtime(scenarios: Built) -> None:
    session, checklist = scenarios["rolled_back"]
    md = render_report(checklist, session, "md", clock=REPORT_TIME)
    assert "### Rollback Required\n- Yes\n- Reason: Health check answering 502 after deploy" in md
    assert "- Trigger: Critical functionality broken" in md
    assert "- Health Check: ❌ Fail (1 of 3 items failed)" in md
    # maintenance on/off derived from the successful MAINTENANCE_MODE commands
    assert "**Downtime**: 5 minutes (21:20 UTC - 21:25 UTC, maintenance mode)" in md
    assert "`python manage.py migrate repairs 0041` exited 1" in md
    log = build_log(checklist, session, clock=REPORT_TIME)
    criteria = {c["id"]: c["met"] for c in log["success_criteria"]}
    assert criteria["health-checks"] is False


def test_empty_session_reads_not_recorded(tmp_path: Path, app_dir: Path,
                                          closing: list[Session]) -> None:
    from reports_factory import frozen, make_store

    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    session = store.create(checklist, vars={"app_dir": str(app_dir)}, operator="bo")
    closing.append(session)
    md = render_report(checklist, session, "md", clock=REPORT_TIME)
    assert "**Version**: not recorded" in md
    assert "**Sprint**: not recorded" in md
    assert "- Not recorded: no git history between the tags and no changes entered" in md
    assert "### Issues Encountered\n- None" in md


def test_items_no_longer_in_the_checklist_stay_in_the_appendix(
        tmp_path: Path, app_dir: Path, closing: list[Session]) -> None:
    """The checklist was edited after the deployment: its recorded work is still proof."""
    from reports_factory import frozen, make_store

    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    session = store.create(checklist, vars={"app_dir": str(app_dir)}, operator="bo")
    closing.append(session)
    session.record("tick", "pre.unit-tests")
    session.record("tick", "deploy.download-backups")  # an item this checklist does not have
    session.record("command_started", "deploy.download-backups", run="run-0001", pid=1,
                   command="aws s3 cp s3://bucket/dump.sql .")
    session.record("command_finished", "deploy.download-backups", run="run-0001", exit_code=0)
    md = render_report(checklist, session, "md", clock=REPORT_TIME)
    assert "#### Recorded items no longer in the checklist\n\n| Item | State | By | When | " \
           "Evidence |\n|---|---|---|---|---|\n| `deploy.download-backups` | ✅ done | bo |" in md
    assert "| `deploy.download-backups` | `aws s3 cp s3://bucket/dump.sql .` | 0 |" in md
    rows = build_log(checklist, session, clock=REPORT_TIME)["items"]
    assert rows[-1]["qid"] == "deploy.download-backups" and rows[-1]["in_checklist"] is False
    assert len(rows) == len(checklist.items) + 1
