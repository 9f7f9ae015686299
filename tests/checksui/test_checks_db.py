"""Thread-backed checks (psycopg2) from the UI against a real PostgreSQL: baseline and data loss."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from checksui_pilot import SIZE, START, runbook, settle

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.ui.rollback_banner import RollbackBanner

HERE = Path(__file__).resolve().parent


async def test_row_counts_baseline_and_data_loss_trigger(
    pg_db: Any, store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pg_db.env().items():
        monkeypatch.setenv(name, value)
    checklist = load_checklist(HERE / "db.yaml")
    values = resolve_vars(checklist, {}, config={})
    session = store.create(checklist, vars=values, operator="ana")
    session.record("phase_entered", phase="post")
    app = make_app(checklist, session, values=values, use_git=False, ascii_only=False,
                   clock=lambda: START + timedelta(minutes=5))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await pilot.press("1", "a")
            await settle(pilot, screen)
            conn = pg_db.connect()
            try:
                with conn.cursor() as cur:
                    cur.execute("DELETE FROM repairs WHERE id IN (SELECT id FROM repairs LIMIT 5)")
            finally:
                conn.close()
            screen.focus_item(checklist.item("post.rows-after"))
            await pilot.press("c")
            await settle(pilot, screen)
            banner = screen.query_one(RollbackBanner)
            assert banner.display and "Data loss or corruption detected" in str(banner.render())
        state = session.state(checklist)
        assert state.item("pre.db-up").state == "done"  # auto_tick
        assert state.item("pre.rows-before").check.evidence["counts"]["repairs"] == 360  # type: ignore[union-attr]
        after = state.item("post.rows-after").check
        assert after is not None and after.status == "fail"
        assert "repairs 360 -> 355" in after.summary
        assert state.rollback is not None and state.rollback.trigger == "data-loss"
        # The password never reaches the session's evidence.
        assert pg_db.password not in (session.dir / "events.jsonl").read_text()
    finally:
        session.close()
