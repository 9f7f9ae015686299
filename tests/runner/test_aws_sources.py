"""CloudWatch Logs source (moto), environment status and deploy explanation (moto + EB stub)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest

from rsdeploy_tui.aws import client_settings
from rsdeploy_tui.runner.cloudwatch_logs import log_group_name, stream_cloudwatch_logs
from rsdeploy_tui.runner.eb_logs import LogLine, LogSourceError
from rsdeploy_tui.runner.eb_status import explain_deploy_exit, fetch_env_status

ENV = "rs-systems-prod"
GROUP = f"/aws/elasticbeanstalk/{ENV}/var/log/eb-engine.log"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_log_group_names() -> None:
    assert log_group_name("e") == "/aws/elasticbeanstalk/e/var/log/eb-engine.log"
    assert log_group_name("e", "web.stdout.log") == "/aws/elasticbeanstalk/e/var/log/web.stdout.log"
    assert log_group_name("e", "var/log/nginx/error.log") == (
        "/aws/elasticbeanstalk/e/var/log/nginx/error.log"
    )
    assert log_group_name("e", "/custom/group") == "/custom/group"


def test_client_settings_vars_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert client_settings({}) == {"region_name": "eu-west-1"}
    assert client_settings({"aws_region": "eu-central-1", "aws_endpoint_url": "http://x:1"}) == {
        "region_name": "eu-central-1",
        "endpoint_url": "http://x:1",
    }


async def test_cloudwatch_source_polls_and_dedupes(aws_env: Any) -> None:
    aws_env.put_log_events(
        GROUP,
        "i-0aaa",
        ["2026/11/26 [INFO] first", "\x1b[31m[ERROR] red\x1b[0m\x1b[2J", "multi\nline"],
    )
    polls = 0
    added = False

    async def next_poll(delay: float) -> None:
        nonlocal polls, added
        polls += 1
        if not added:
            aws_env.put_log_events(GROUP, "i-0bbb", ["2026/11/26 [WARN] second instance"])
            added = True

    got: list[LogLine] = []
    source = stream_cloudwatch_logs(ENV, sleep=next_poll, poll=0)
    async with contextlib.aclosing(source) as batches:
        async for batch in batches:
            got.extend(batch)
            if len(got) >= 5 or polls > 5:
                break
    assert [line.text for line in got] == [
        "2026/11/26 [INFO] first",
        "\x1b[31m[ERROR] red\x1b[0m",
        "multi",
        "line",
        "2026/11/26 [WARN] second instance",
    ]
    assert [line.instance for line in got] == ["i-0aaa"] * 4 + ["i-0bbb"]
    assert [line.level for line in got] == ["INFO", "ERROR", None, None, "WARN"]
    assert got[0].group == GROUP
    # Later polls overlapped the earlier events but nothing came twice.
    assert len(got) == len({(line.instance, line.text) for line in got})


async def test_cloudwatch_missing_group_suggests_fix(aws_env: Any) -> None:
    async def no_wait(delay: float) -> None:
        return None

    with pytest.raises(LogSourceError) as info:
        async for _ in stream_cloudwatch_logs("no-such-env", sleep=no_wait):
            pass
    assert info.value.title == "Log group not found"
    assert "--cloudwatch-logs enable" in (info.value.fix or "")


async def test_cloudwatch_unreachable_is_an_error_not_a_crash(aws_credentials: Any) -> None:
    vars = {"aws_endpoint_url": f"http://127.0.0.1:{_closed_port()}", "aws_region": "us-east-1"}
    with pytest.raises(LogSourceError) as info:
        await asyncio.wait_for(anext(stream_cloudwatch_logs(ENV, vars=vars)), timeout=60)
    assert "cannot reach AWS" in info.value.message


def test_env_status_from_moto(aws_env: Any) -> None:
    aws_env.create_eb_environment("rs-systems", ENV, version_label="app-v42", health="Green")
    status = fetch_env_status(ENV, {})
    assert status.error is None
    assert (status.status, status.health, status.version_label) == ("Ready", "Green", "app-v42")
    assert status.updating is False


def test_env_status_unknown_env(aws_env: Any) -> None:
    status = fetch_env_status("nope", {})
    assert status.error and "no environment named nope" in status.error
    assert status.status == "unknown" and status.version_label == "unknown"


def test_env_status_closed_port_is_unknown_with_reason(aws_credentials: Any) -> None:
    vars = {"aws_endpoint_url": f"http://127.0.0.1:{_closed_port()}", "aws_region": "us-east-1"}
    status = fetch_env_status(ENV, vars)
    assert status.status == status.health == "unknown"
    assert status.error and "cannot reach AWS" in status.error


def test_env_status_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    vars = {"aws_endpoint_url": f"http://127.0.0.1:{_closed_port()}", "aws_region": "us-east-1"}
    status = fetch_env_status(ENV, vars)
    assert status.error and "credentials" in status.error


def test_env_status_enhanced_health_causes(eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV)
    env.health = "Yellow"
    env.health_status = "Warning"
    env.causes = ["50.0 % of the requests are failing with HTTP 5xx."]
    status = fetch_env_status(ENV, {})
    assert status.health == "Yellow" and status.health_status == "Warning"
    assert status.causes == ("50.0 % of the requests are failing with HTTP 5xx.",)


def test_explain_deploy_exit_failed(eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV, version_label="app-v41")
    env.add_event("Failed to deploy application.", "ERROR")
    lines = explain_deploy_exit(ENV, "app-v42", {})
    text = "\n".join(lines)
    assert "is Ready" in lines[0]
    assert "VersionLabel is app-v41, not app-v42" in text
    assert "Failed to deploy application." in lines[-1]  # newest event last


def test_explain_deploy_exit_still_updating(eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV, version_label="app-v41")
    env.status = "Updating"
    env.abortable_operation_in_progress = True
    lines = explain_deploy_exit(ENV, "app-v42", {})
    assert any("still in progress" in line and "eb abort" in line for line in lines)


def test_explain_deploy_exit_deployed(eb_stub: Any) -> None:
    eb_stub.add_environment(ENV, version_label="app-v42")
    lines = explain_deploy_exit(ENV, "app-v42", {})
    assert any("VersionLabel is app-v42: the new version is deployed." in line for line in lines)


def test_explain_deploy_exit_unreachable(aws_credentials: Any) -> None:
    vars = {"aws_endpoint_url": f"http://127.0.0.1:{_closed_port()}", "aws_region": "us-east-1"}
    lines = explain_deploy_exit(ENV, "app-v42", vars)
    assert lines[0].startswith("Could not ask Elastic Beanstalk what happened: cannot reach AWS")
