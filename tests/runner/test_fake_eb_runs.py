"""The fake eb driven the way the app drives it: detached deploy runs and the log source choice."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.runner import (
    LogLine,
    SourceStatus,
    archive_lines,
    log_source,
    start_run,
    supervise,
    tail_lines,
    wait_run,
)


def test_deploy_success_events_exit_zero(fake_eb: Path, tmp_path: Path) -> None:
    start_run(tmp_path, "eb deploy rs-prod --version app-v42", run_id="d1")
    status = wait_run(tmp_path, "d1", timeout=30)
    assert status.exit_code == 0
    tail = tail_lines(tmp_path / "d1.log", 2)
    assert tail[-1].endswith("INFO    Environment update completed successfully.")
    assert tail[-1].startswith("2026-11-26 02:30:")


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fail", "ERROR: ServiceError - Failed to deploy application."),
        ("timeout", "ERROR: TimeoutError - The EB CLI timed out after 10 minute(s)."),
    ],
)
def test_deploy_failure_and_timeout_both_exit_4(
    fake_eb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, message: str
) -> None:
    monkeypatch.setenv("FAKE_EB_DEPLOY", mode)
    start_run(tmp_path, "eb deploy rs-prod --version app-v42", run_id="d2")
    assert wait_run(tmp_path, "d2", timeout=30).exit_code == 4
    assert tail_lines(tmp_path / "d2.log", 1)[0].startswith(message)


def test_fake_eb_one_shot_commands(fake_eb: Path, tmp_path: Path) -> None:
    command = (
        "eb status rs-prod && eb health rs-prod && eb setenv -e rs-prod K=v && "
        "eb restart rs-prod && eb ssh rs-prod -n 1 --command 'df -h'"
    )
    start_run(tmp_path, command, run_id="o1")
    assert wait_run(tmp_path, "o1", timeout=30).exit_code == 0
    log = (tmp_path / "o1.log").read_text()
    assert "  Status: Ready" in log and "Successfully deployed new configuration" in log
    assert "fake remote output of: df -h" in log


def test_log_source_choice(fake_eb: Path) -> None:
    with pytest.raises(RsdeployError):
        log_source({})
    with pytest.raises(RsdeployError):
        log_source({"eb_env": "e", "log_source": "syslog"})
    assert callable(log_source({"eb_env": "e", "log_source": "cloudwatch"}))


async def test_log_source_eb_web_log_through_supervisor(
    fake_eb: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "4")
    make = log_source({"eb_env": "rs-prod"}, "web.stdout.log")
    got: list[LogLine] = []
    async with contextlib.aclosing(supervise(make)) as items:
        async for item in items:
            if isinstance(item, SourceStatus):
                continue
            got.extend(item)
            if len(got) >= 4:
                break
    assert got[0].group == "/aws/elasticbeanstalk/rs-prod/var/log/web.stdout.log"
    archive = tmp_path / "logs.txt"
    archive_lines(archive, got, redact=lambda s: s.replace("2211", "****"))
    text = archive.read_text()
    assert text.splitlines()[0].startswith(
        "i-0a1b2c3d4e5f60001 Nov 26 02:30:00 ip-10-0-1-23 web[****]"
    )
    assert len(text.splitlines()) == 4


async def test_log_source_cloudwatch(aws_env: object) -> None:
    aws_env.put_log_events(  # type: ignore[attr-defined]
        "/aws/elasticbeanstalk/rs-prod/var/log/web.stdout.log", "i-0ccc", ["hello from web"]
    )
    make = log_source({"eb_env": "rs-prod", "log_source": "cloudwatch"}, "web.stdout.log", poll=0)
    batch = await asyncio.wait_for(anext(make()), timeout=30)
    assert [(line.instance, line.text) for line in batch] == [("i-0ccc", "hello from web")]
