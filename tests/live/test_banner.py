"""The environment banner against the EB API stub, and when AWS cannot be asked."""

from __future__ import annotations

from typing import Any

import pytest
from live_helpers import SIZE, runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.widgets.env_banner import EnvBanner

REAL_AWS = {"banner_interval": 0.3, "cancel_grace": 1.0}  # fetch_env_status itself


def banner(app: Any) -> tuple[str, set[str]]:
    widget = runbook(app).query_one(EnvBanner)
    return str(widget.render()), set(widget.classes)


async def test_banner_shows_status_health_version_and_updates(
    live: Checklist, session: Session, eb_stub: Any
) -> None:
    env = eb_stub.add_environment("live-prod", version_label="app-v41")
    app = make_app(live, session, use_git=False, services=REAL_AWS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Status Ready" in banner(app)[0], what="the status")
        text, classes = banner(app)
        assert "live-prod" in text and "Health Green / Ok" in text
        assert "Version app-v41" in text and "-ok" in classes
        with eb_stub.lock:
            env.status = "Updating"
            env.abortable_operation_in_progress = True
        await wait_for(pilot, lambda: "update in progress" in banner(app)[0],
                       what="the update")
        assert "-updating" in banner(app)[1]
        await pilot.press("j")  # still responsive between refreshes
        assert runbook(app).current_item is not None


async def test_banner_says_unknown_with_the_reason_on_an_aws_error(
    live: Checklist, session: Session, eb_stub: Any
) -> None:
    eb_stub.add_environment("live-prod")
    eb_stub.fail("DescribeEnvironments", code="AccessDenied", message="not allowed here",
                 status=403, times=100)
    app = make_app(live, session, use_git=False, services=REAL_AWS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "unknown:" in banner(app)[0], what="unknown")
        text, classes = banner(app)
        assert "AccessDenied" in text and "not allowed here" in text
        assert "-unknown" in classes


async def test_banner_without_any_aws_configuration_says_why(
    live: Checklist, session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask a real network
    app = make_app(live, session, use_git=False, services={"banner_interval": None})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "unknown:" in banner(app)[0], what="unknown")
        assert banner(app)[0].strip() == (
            "live-prod  unknown: no AWS region: set the aws_region var (or AWS_REGION)")
