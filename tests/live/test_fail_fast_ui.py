"""`r` on a block whose first line fails: nothing after it runs, and every place says which
line failed (#13.1): the run view, the stored record, the item detail, the deployment log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live_helpers import SIZE, goto, kinds, runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.reports import render_report
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.ui import view

CHECKLIST = """\
name: Fail fast
vars:
  previous_tag: v1.4.0
phases:
  - id: rollback
    title: Rollback
    items:
      - id: redeploy
        text: Redeploy the previous tag
        command: |
          git -C {repo} checkout ${previous_tag}
          touch {side}
      - id: tolerant
        text: Every line, whatever happens
        continue_on_error: true
        command: |
          ls {repo}/nothing-here
          touch {tolerated}
"""


async def test_a_failing_first_line_stops_the_block_and_is_named_everywhere(
    tmp_path: Path, store: SessionStore, services: dict[str, Any],
) -> None:
    repo, side, tolerated = tmp_path / "not-a-repo", tmp_path / "redeployed", tmp_path / "ran"
    repo.mkdir()
    path = tmp_path / "ff.yaml"
    path.write_text(CHECKLIST.replace("{repo}", str(repo)).replace("{side}", str(side))
                    .replace("{tolerated}", str(tolerated)))
    checklist = load_checklist(path)
    assert checklist.item("rollback.tolerant").continue_on_error
    assert not checklist.item("rollback.redeploy").continue_on_error
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    app = make_app(checklist, session, use_git=False, services=services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await goto(pilot, app, "rollback.redeploy")
            await pilot.press("r")
            await wait_for(pilot, lambda: "command_finished" in kinds(session,
                                                                     "rollback.redeploy"))
            output = screen.runs.output
            expected = f"line 1 of 2 failed: git -C {repo} checkout v1.4.0 → exit 128"
            await wait_for(pilot, lambda: f"Stopped: {expected}" in output.plain_lines(),
                           what="the failed line in the run view")
            detail = view.detail_text(checklist, checklist.item("rollback.redeploy"),
                                      screen.state, screen.ctx.display, screen.ctx.glyphs)
            assert expected in detail.plain
            await goto(pilot, app, "rollback.tolerant")
            await pilot.press("r")
            await wait_for(pilot, lambda: "command_finished" in kinds(session,
                                                                     "rollback.tolerant"))
    finally:
        session.close()
    assert not side.exists(), "the line after the failing one ran"
    assert tolerated.exists(), "continue_on_error did not run the second line"
    stored = store.open(session.id, read_only=True)
    state = stored.state(checklist)
    run = state.item("rollback.redeploy").runs[-1]
    assert run.exit_code == 128
    assert run.failed == {"step": 1, "of": 2, "line": 1, "exit_code": 128,
                          "text": f"git -C {repo} checkout v1.4.0"}
    assert state.item("rollback.redeploy").state == "failed"
    tolerant = state.item("rollback.tolerant").runs[-1]
    assert tolerant.exit_code == 0 and tolerant.failed is None
    report = render_report(checklist, stored, "md")
    assert f"line 1 of 2 failed: git -C {repo} checkout v1.4.0" in report
