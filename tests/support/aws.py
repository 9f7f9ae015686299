"""A moto server on 127.0.0.1 standing in for AWS (S3, CloudWatch, CloudWatch Logs, EB basics).

Fixtures:
    moto_server (session): ``MotoServer`` running moto's ThreadedMotoServer in this process.
    aws_credentials (function): fake credentials/region, isolated from ~/.aws; no endpoint.
    aws_env (function): aws_credentials + ``AWS_ENDPOINT_URL`` pointing at moto, moto state reset
        before the test. Yields ``AwsEnv`` with seeding helpers.

boto3 sends every service to ``AWS_ENDPOINT_URL``; a per-service variable such as
``AWS_ENDPOINT_URL_ELASTIC_BEANSTALK`` wins for that one service (the ``eb_stub`` fixture sets it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from support.net import wait_for_port

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_ACCESS_KEY_ID = "AKIAFAKERSDEPLOYTEST"
# Distinctive so redaction tests can grep for it.
FAKE_SECRET_ACCESS_KEY = "aws-Secret-9f3b2a-fake-key-for-tests"

# Variables that would let a developer's real AWS setup leak into a test.
_AWS_VARS_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


@dataclasses.dataclass
class MotoServer:
    """The running moto server."""

    host: str
    port: int
    _server: Any = dataclasses.field(repr=False)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every resource in every moto backend (POST /moto-api/reset)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's ThreadedMotoServer on 127.0.0.1 (ephemeral port) for the whole session."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request at INFO; that noise would fill captured-log sections.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Port 0: the OS picks a free port at bind time, so there is no race with other processes.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    wait_for_port(host, port)
    try:
        yield MotoServer(host=host, port=port, _server=server)
    finally:
        server.stop()


@dataclasses.dataclass
class AwsEnv:
    """Fake AWS settings in the environment of this test, plus seeding helpers for moto."""

    region: str
    access_key_id: str
    secret_access_key: str
    endpoint_url: str | None
    """Where ``AWS_ENDPOINT_URL`` points (moto), or None for ``aws_credentials`` alone."""
    moto: MotoServer | None = None

    def env(self) -> dict[str, str]:
        """All ``AWS_*`` variables as currently set (for a subprocess's environment)."""
        return {k: v for k, v in os.environ.items() if k.startswith("AWS_")}

    def client(self, service: str) -> Any:
        """A boto3 client configured only from the environment (as the app builds them)."""
        import boto3

        return boto3.client(service, region_name=self.region)

    def reset(self) -> None:
        """Forget all moto state."""
        assert self.moto is not None, "reset() needs aws_env (moto), not aws_credentials"
        self.moto.reset()

    # -- S3 ---------------------------------------------------------------------------------
    def create_bucket(self, name: str, objects: Mapping[str, bytes | str] | None = None) -> None:
        """Create an S3 bucket holding ``objects`` (key -> body)."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        for key, body in (objects or {}).items():
            s3.put_object(
                Bucket=name, Key=key, Body=body.encode() if isinstance(body, str) else body
            )

    # -- CloudWatch alarms ---------------------------------------------------------------------
    def put_alarm(
        self,
        name: str,
        state: str = "OK",
        *,
        metric: str = "5XXError",
        namespace: str = "AWS/ApplicationELB",
        reason: str = "Threshold crossed: test",
        dimensions: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """Create a CloudWatch metric alarm in ``state`` (OK / ALARM / INSUFFICIENT_DATA)."""
        cw = self.client("cloudwatch")
        cw.put_metric_alarm(
            AlarmName=name,
            MetricName=metric,
            Namespace=namespace,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Dimensions=[dict(d) for d in dimensions],
        )
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    # -- CloudWatch Logs -----------------------------------------------------------------------
    def put_log_events(
        self,
        group: str,
        stream: str,
        messages: Sequence[str | tuple[int, str]],
        *,
        start_ms: int | None = None,
    ) -> list[int]:
        """Append events to ``group``/``stream`` (both created if missing); return timestamps (ms).

        ``messages`` items are a message (timestamps count up by 1 s from ``start_ms``, default
        now - 60 s) or ``(timestamp_ms, message)``.
        """
        logs = self.client("logs")
        # Seeding twice into one group/stream is fine.
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        base = start_ms if start_ms is not None else int(time.time() * 1000) - 60_000
        events: list[dict[str, Any]] = []
        for i, item in enumerate(messages):
            ts, msg = item if isinstance(item, tuple) else (base + i * 1000, item)
            events.append({"timestamp": ts, "message": msg})
        if events:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        return [int(e["timestamp"]) for e in events]

    # -- Elastic Beanstalk (moto's partial model; see eb_stub for the rest) ----------------------
    def create_eb_environment(
        self,
        application: str,
        environment: str,
        *,
        version_label: str = "v1",
        status: str = "Ready",
        health: str = "Green",
        health_status: str = "Ok",
        cname: str | None = None,
    ) -> None:
        """Create an EB application (if missing) and environment in moto, with a VersionLabel.

        moto hard-codes VersionLabel/Health, so they are set on its in-process model directly
        (ThreadedMotoServer shares this process's backends).
        """
        from moto.elasticbeanstalk.models import eb_backends

        eb = self.client("elasticbeanstalk")
        existing = eb.describe_applications(ApplicationNames=[application])["Applications"]
        if not existing:
            eb.create_application(ApplicationName=application)
        eb.create_environment(
            ApplicationName=application,
            EnvironmentName=environment,
            SolutionStackName="64bit Amazon Linux 2023 v4.3.0 running Python 3.11",
        )
        model = (
            eb_backends[ACCOUNT_ID][self.region].applications[application].environments[environment]
        )
        model.version_label = version_label  # type: ignore[assignment]  # moto types it int
        model.status = status
        model.health = health
        model.health_status = health_status
        model.cname = cname or f"{environment}.{self.region}.elasticbeanstalk.com"
        model.endpoint_url = model.cname
        model.environment_id = f"e-{zlib.crc32(environment.encode()) % 10**10:010d}"
        model.solution_stack_name = "64bit Amazon Linux 2023 v4.3.0 running Python 3.11"


def _set_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in _AWS_VARS_TO_CLEAR:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Never read the developer's ~/.aws, never ask instance metadata.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AwsEnv:
    """Fake credentials and region in os.environ; no endpoint (use with eb_stub alone)."""
    _set_credentials(monkeypatch, tmp_path)
    return AwsEnv(
        region=REGION,
        access_key_id=FAKE_ACCESS_KEY_ID,
        secret_access_key=FAKE_SECRET_ACCESS_KEY,
        endpoint_url=None,
    )


@pytest.fixture
def aws_env(
    aws_credentials: AwsEnv, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> AwsEnv:
    """Fake credentials + ``AWS_ENDPOINT_URL`` at moto, with moto state reset for this test."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    aws_credentials.endpoint_url = moto_server.url
    aws_credentials.moto = moto_server
    return aws_credentials
