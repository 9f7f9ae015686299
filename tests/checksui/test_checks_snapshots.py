"""Snapshots: the rollback banner, and the detail panel with a check result and its evidence.

Deterministic: fixed store and app clocks, fixed session id, fixed URLs in the vars shown, no
environment banner (it reflects AWS_REGION and credentials of the machine).
Regenerate with ``pytest tests/checksui/test_checks_snapshots.py --snapshot-update`` and look
at the SVGs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from checksui_pilot import START

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session

SIZE = (110, 34)
FIXED = {"base_url": "http://127.0.0.1:8000", "closed_url": "http://127.0.0.1:9",
         "manage": "python manage.py"}


def app_on(checklist: Checklist, session: Session, values: dict[str, str]) -> Any:
    # No environment banner: it would read AWS_REGION etc. from the machine running the tests.
    return make_app(checklist, session, values={**values, **FIXED}, use_git=False,
                    ascii_only=False, clock=lambda: START + timedelta(minutes=12, seconds=34),
                    services={"banner": False, "reattach": False})


def test_detail_with_check_result_and_evidence(
    snap_compare: Any, checklist: Checklist, session: Session, values: dict[str, str]
) -> None:
    session.record("check_result", item="pre.health", status="pass",
                   summary="GET http://127.0.0.1:8000/ok -> 200 in 0.01 s", duration_s=0.012,
                   evidence={"url": "http://127.0.0.1:8000/ok", "status": 200,
                             "elapsed_s": 0.012,
                             "headers": {"content-type": "application/json"},
                             "json": {"status": "healthy"}})
    session.record("check_result", item="pre.refused", status="error",
                   summary="connection refused by 127.0.0.1:9", duration_s=0.002,
                   evidence={"url": "http://127.0.0.1:9/ok"})
    assert snap_compare(app_on(checklist, session, values), terminal_size=SIZE)


def test_rollback_banner_names_the_criterion(
    snap_compare: Any, checklist: Checklist, session: Session, values: dict[str, str]
) -> None:
    session.record("phase_entered", phase="post")
    session.record("check_result", item="post.site-up", status="fail",
                   summary="GET http://127.0.0.1:8000/status/500 -> 500, expected 200",
                   duration_s=0.004, evidence={"status": 500})
    session.record("rollback_started", trigger="site-down",
                   reason="Rollback criterion: Critical functionality broken (site down) — "
                   "check failed on 'Site answers after the deploy' (post.site-up).")
    assert snap_compare(app_on(checklist, session, values), terminal_size=SIZE)
