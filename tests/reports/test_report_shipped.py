"""The deployment log of the checklist that ships (checklists/rs-systems.yaml), by structure.

The golden files use a frozen copy; this test follows the real file as it changes, so it asserts
what must hold for any version of it: every template heading and field filled, every item in the
appendix, the status lines and success criteria found, downtime and migrations derived from the
checklist's own commands, no secret anywhere.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from reports_factory import (
    CANARY,
    START,
    FixedClock,
    make_store,
    session_vars,
    shipped,
    shown_command,
)

from rsdeploy_tui.reports import build_messages, render_report
from rsdeploy_tui.reports.downtime import maintenance_setting
from rsdeploy_tui.session import Session

CLOCK = FixedClock(START + timedelta(hours=3))
MAINTENANCE_ON = "rollback.maintenance-mode-on"
MIGRATE = "deploy.run-migrations"


def _heading_pattern(line: str) -> re.Pattern[str]:
    """A template heading with its ``[placeholders]`` standing for any filled-in text."""
    parts = re.split(r"\[[^\]]+\]", line.strip())
    return re.compile("^" + ".+".join(map(re.escape, parts)) + "$", re.MULTILINE)


def test_log_of_the_shipped_checklist_has_its_whole_structure(
        tmp_path: Path, app_dir: Path, closing: list[Session]) -> None:
    checklist = shipped()
    values = session_vars(checklist, app_dir)
    store, _ = make_store(tmp_path / "sessions")
    session = store.create(checklist, vars=values, operator="ana")
    closing.append(session)
    # a deployment through the checklist's own commands, rolled back after a failed check
    for item in checklist.phase("pre").items:
        session.record("tick", item.qid)
    session.record("note", checklist.phase("pre").items[0].qid,
                   text=f"pasted DB_PASSWORD={CANARY} by mistake")
    migrate = shown_command(checklist, MIGRATE, values)
    session.record("command_started", MIGRATE, run="run-0001", command=migrate, pid=1)
    session.record("command_finished", MIGRATE, run="run-0001", exit_code=0, duration_s=3.0,
                   tail=["  Applying repairs.0042_manager_assignment... OK"])
    for item in checklist.phase("deploy").items:
        session.record("tick", item.qid)
    failing = checklist.phase("post").items[0]
    session.record("check_result", failing.qid, status="fail", summary="answered 502",
                   evidence={"password": CANARY})
    session.record("rollback_started", reason="health check failing",
                   trigger=failing.rollback_trigger)
    switch_on = shown_command(checklist, MAINTENANCE_ON, values)
    assert maintenance_setting(switch_on) is True, switch_on
    session.record("command_started", MAINTENANCE_ON, run="run-0002", command=switch_on, pid=2)
    session.record("command_finished", MAINTENANCE_ON, run="run-0002", exit_code=0)
    session.record("tick", MAINTENANCE_ON)
    session.record("command_started", "rollback.verify-rollback", run="run-0003", pid=3,
                   command=f"eb setenv MAINTENANCE_MODE=false -e {values['eb_env']}")
    session.record("command_finished", "rollback.verify-rollback", run="run-0003", exit_code=0)
    session.record("session_finished")

    md = render_report(checklist, session, "md", clock=CLOCK, use_git=False)
    log = json.loads(render_report(checklist, session, "json", clock=CLOCK, use_git=False))

    template = checklist.templates["deployment_log"].body
    for line in template.splitlines():
        if line.lstrip().startswith("#"):
            assert _heading_pattern(line).search(md), f"heading {line.strip()!r} missing"
        field = re.match(r"\s*\*\*([^*]+)\*\*:", line)
        if field:
            filled = re.search(rf"^\*\*{re.escape(field[1])}\*\*: (.+)$", md, re.MULTILINE)
            assert filled and "[" not in filled[1] and "not recorded" not in filled[1], line
    assert re.search(r"^\*\*Downtime\*\*: \d+ minutes? \(.+, maintenance mode\)", md,
                     re.MULTILINE)
    assert f"({MIGRATE}): exit 0\n" in md  # the run, in Migrations Run
    assert "- repairs: 0042_manager_assignment" in md
    assert "### Rollback Required\n- Yes\n- Reason: health check failing" in md

    status = {line["name"]: line for line in log["post_deployment_status"]}
    assert list(status) == ["Health Check", "Core Functionality", "Performance", "Monitoring"]
    assert all(line["total"] > 0 for line in status.values()), status
    assert status["Health Check"]["status"] == "fail"

    criteria = md.split("### Success Criteria", 1)[1].split("## Appendix", 1)[0]
    for criterion in checklist.success_criteria:
        assert f": {criterion.text}" in criteria, criterion.id

    appendix = md.split("## Appendix: proof of work", 1)[1]
    for item in checklist.iter_items():
        assert f"(`{item.qid}`) |" in appendix, item.qid
    assert [row["qid"] for row in log["items"]] == [i.qid for i in checklist.iter_items()]
    commands = appendix.split("### Commands run", 1)[1]
    assert f"| `{MAINTENANCE_ON}` | `eb setenv MAINTENANCE_MODE=true -e " in commands
    assert f"| `{MIGRATE}` |" in commands and "| 0 |" in commands

    messages = build_messages(checklist, session, clock=CLOCK, use_git=False)
    titles = {m.id: m.title for m in messages}
    for template_id in ("pre_deployment", "post_deployment", "rollback"):
        assert titles[template_id] == checklist.templates[template_id].title
    everything = md + json.dumps(log) + "".join(m.text() for m in messages)
    assert CANARY not in everything
