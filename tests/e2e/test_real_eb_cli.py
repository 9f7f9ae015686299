"""The real EB CLI (awsebcli) against EbApiStub + moto: its output is what the app parses.

Every test runs the PyPI ``eb`` (support/real_eb.py) in an ``eb init``-ed directory; nothing here
is the home-made tests/fake_eb. Elastic Beanstalk is the stub (state the test controls), CloudWatch
Logs is moto.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from rsdeploy_tui.runner.eb_logs import LogSourceError, stream_eb_logs
from rsdeploy_tui.runner.eb_status import explain_deploy_exit
from support.real_eb import ENVIRONMENT, EbProject

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ENGINE_LOG = f"/aws/elasticbeanstalk/{ENVIRONMENT}/var/log/eb-engine.log"


def test_status_shows_the_deployed_version_and_health(eb_project: EbProject) -> None:
    eb_project.environment.version_label = "app-v41"
    done = eb_project.run("status", ENVIRONMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Environment details for: {ENVIRONMENT}" in done.stdout
    assert "Deployed Version: app-v41" in done.stdout
    assert "Status: Ready" in done.stdout and "Health: Green" in done.stdout


def test_health_draws_the_enhanced_health_tables_once(eb_project: EbProject) -> None:
    eb_project.environment.instances[1].health_status = "Severe"
    done = eb_project.run("health", ENVIRONMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = (i.instance_id for i in eb_project.environment.instances)
    # The first table is health: instance-id, status, cause.
    health_rows = [line.split()[:2] for line in done.stdout.splitlines()
                   if line.split()[:1] in ([first], [second])][:2]
    assert health_rows == [[first, "Ok"], [second, "Severe"]], done.stdout
    assert "deployments" in done.stdout and "app-v41" in done.stdout


def test_events_lists_the_environment_events(eb_project: EbProject) -> None:
    eb_project.environment.add_event("Deployment of app-v40 was tested.", "WARN")
    done = eb_project.run("events", ENVIRONMENT)
    assert done.returncode == 0, done.stderr
    assert [line.split(None, 3)[2:] for line in done.stdout.splitlines()][-1] == [
        "WARN", "Deployment of app-v40 was tested."
    ]


def test_deploy_version_succeeds_and_the_api_agrees(eb_project: EbProject) -> None:
    env = eb_project.environment
    env.update_polls = 2
    done = eb_project.run("deploy", ENVIRONMENT, "--version", "app-v42")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Environment update completed successfully." in done.stdout
    assert env.version_label == "app-v42" and env.history[-1].outcome == "succeeded"
    [update] = eb_project.stub.calls_to("UpdateEnvironment")
    assert update.params["VersionLabel"] == "app-v42"


def test_failed_deploy_exits_4_and_the_app_explains_it(eb_project: EbProject) -> None:
    env = eb_project.environment
    env.update_polls, env.update_outcome = 2, "failure"
    done = eb_project.run("deploy", ENVIRONMENT, "--version", "app-v42")
    # The real CLI's exit code for a failed deploy (the same 4 as for a timeout).
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Failed to deploy application." in done.stdout + done.stderr
    explained = explain_deploy_exit(ENVIRONMENT, "app-v42")
    assert explained[0] == f"Elastic Beanstalk says: {ENVIRONMENT} is Ready, health Red / Degraded."
    assert explained[1].startswith("VersionLabel is app-v41, not app-v42:")
    assert any("Failed to deploy application." in line for line in explained)


def test_deploy_refused_while_another_update_runs(eb_project: EbProject) -> None:
    eb_project.environment.status = "Updating"
    done = eb_project.run("deploy", ENVIRONMENT, "--version", "app-v42")
    # The API refuses the update. `eb deploy --version` goes through a path that does not map
    # the refusal to InvalidStateError (exit 3): the real CLI exits 4, like a failed deploy.
    assert done.returncode == 4, done.stdout + done.stderr
    assert "is in an invalid state for this operation. Must be Ready." in done.stdout
    assert eb_project.environment.version_label == "app-v41"
    assert eb_project.environment.history == []


def test_setenv_changes_the_environment_variable(eb_project: EbProject) -> None:
    env = eb_project.environment
    env.update_polls = 2
    done = eb_project.run("setenv", "MAINTENANCE_MODE=true", "-e", ENVIRONMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert env.env_vars["MAINTENANCE_MODE"] == "true"
    assert env.history[-1].outcome == "succeeded"


def test_logs_stream_from_cloudwatch_is_parsed_by_the_app(eb_project: EbProject, aws_env) -> None:
    """`eb logs --stream` reads CloudWatch Logs (moto); the app's parser turns its bytes-repr
    lines back into the messages that were logged."""
    messages = [
        "2026/11/26 02:30:00.120394 [INFO] Executing instruction: StageApplication",
        "\u2713 migrations applied \u2014 caf\u00e9",
        "2026/11/26 02:30:01.900002 [ERROR] An error occurred during execution of command",
    ]
    instance = eb_project.environment.instances[0].instance_id
    now_ms = int(time.time() * 1000)
    aws_env.put_log_events(ENGINE_LOG, instance, [(now_ms + i, m) for i, m in enumerate(messages)])

    async def collect() -> list[tuple[str | None, str]]:
        seen: list[tuple[str | None, str]] = []
        stream = stream_eb_logs(ENVIRONMENT, eb=str(eb_project.real_eb.eb),
                                env=eb_project.env(), cwd=eb_project.root)
        async with contextlib.aclosing(stream):
            async for batch in stream:
                seen += [(line.instance, line.text) for line in batch]
                if len(seen) >= len(messages):
                    break
        return seen

    try:
        seen = asyncio.run(asyncio.wait_for(collect(), timeout=240))
    except LogSourceError as exc:  # the CLI gave up: show why
        pytest.fail(f"eb logs --stream ended: {exc}")
    assert seen == [(instance, m) for m in messages]


async def _first_error(project: EbProject, cwd: object = None) -> LogSourceError:
    stream = stream_eb_logs(ENVIRONMENT, eb=str(project.real_eb.eb), env=project.env(),
                            cwd=cwd or project.root)
    with pytest.raises(LogSourceError) as info:
        async with contextlib.aclosing(stream):
            async for _batch in stream:
                pass
    return info.value


def test_logs_stream_disabled_is_diagnosed_from_the_real_cli(eb_project: EbProject) -> None:
    eb_project.environment.stream_logs = False
    error = asyncio.run(asyncio.wait_for(_first_error(eb_project), timeout=120))
    assert error.title == "Log streaming is disabled", error
    assert "eb logs --cloudwatch-logs enable" in (error.fix or "")


def test_logs_stream_outside_an_eb_project_is_not_retried(eb_project: EbProject,
                                                          tmp_path) -> None:
    bare = tmp_path / "not-initialised"
    bare.mkdir()
    error = asyncio.run(asyncio.wait_for(_first_error(eb_project, bare), timeout=120))
    assert error.title == "EB CLI not initialized here", error
    assert error.retryable is False
