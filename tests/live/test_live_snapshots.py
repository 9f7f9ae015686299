"""Snapshots of the log pane with canned lines and of the run output view (and the banner).

Deterministic: fixed session id and clocks, a canned banner and log source, no git, no AWS.
Regenerate with ``pytest tests/live/test_live_snapshots.py --snapshot-update``; look at the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.runner import EnvStatus, LogLine
from rsdeploy_tui.session import Session, SessionStore

START = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
NOW = START + timedelta(minutes=12, seconds=34)

I1, I2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
LOG_LINES = [
    (I1, "2026/11/26 02:30:00.120394 [INFO] Executing instruction: StageApplication"),
    (I1, "2026/11/26 02:30:01.002113 [WARN] pip: a newer version is available"),
    (I2, "2026/11/26 02:30:01.900002 [ERROR] An error occurred during execution"),
    ("i-0a1b2c3d4e5f60002", "\x1b[32m✓ migrations applied\x1b[0m — café 日本"),
    ("i-0a1b2c3d4e5f60002", "Traceback (most recent call last):"),
    ("i-0a1b2c3d4e5f60002", "ValueError: boom"),
]
RUN_LINES = [
    "Operations to perform:",
    "  Apply all migrations: admin, auth, repairs",
    "Running migrations:",
    "  Applying repairs.0042_add_invoice_totals...\x1b[32;1m OK\x1b[0m",
    "\x1b[31mERROR: relation \"repairs_invoice\" already exists\x1b[0m",
]


@pytest.fixture
def fixed_session(live: Checklist, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    import rsdeploy_tui.session.store as store_module

    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(store_module, "new_session_id", lambda moment: "20261126T020000Z-snap")
    store = SessionStore(tmp_path / "state" / "sessions", clock=lambda: START)
    session = store.create(live, vars=resolve_vars(live, {}, config={}), operator="ana")
    yield session
    session.close()


def canned_source(vars: Any, group: str) -> Any:
    async def source() -> AsyncGenerator[list[LogLine], None]:
        yield [LogLine(instance, group, text) for instance, text in LOG_LINES]
        await asyncio.Event().wait()

    return source


def services() -> dict[str, Any]:
    def status(env_name: str, vars: Any) -> EnvStatus:
        return EnvStatus(env_name, status="Updating", health="Yellow", health_status="Warning",
                         version_label="app-v41", abortable=True, checked_at="2026-11-26")

    return {"env_status": status, "banner_interval": None, "log_source": canned_source,
            "reattach": False}


def app_for(live: Checklist, session: Session) -> Any:
    return make_app(live, session, clock=lambda: NOW, ascii_only=False, use_git=False,
                    services=services())


@pytest.mark.parametrize("size", [(100, 34), (80, 24)], ids=["100x34", "80x24"])
def test_log_pane_with_canned_lines(snap_compare: Any, live: Checklist,
                                    fixed_session: Session, size: tuple[int, int]) -> None:
    async def open_pane(pilot: Any) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: runbook(app).runs.ready)
        await pilot.press("L")
        await wait_for(pilot, lambda: runbook(app).logs.pane is not None
                       and runbook(app).logs.pane.received == len(LOG_LINES))
        await pilot.pause(0.2)

    assert snap_compare(app_for(live, fixed_session), run_before=open_pane, terminal_size=size)


def test_run_output_view(snap_compare: Any, live: Checklist, fixed_session: Session) -> None:
    async def show_run(pilot: Any) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: runbook(app).runs.ready)
        output = runbook(app).runs.output
        output.open_run("r1", "pre.hello  $ ${manage} migrate", status="exit 1 in 4.2 s",
                        state="failed")
        output.feed("r1", RUN_LINES)
        output.show("r1")
        await pilot.pause(0.2)

    assert snap_compare(app_for(live, fixed_session), run_before=show_run,
                        terminal_size=(100, 34))
