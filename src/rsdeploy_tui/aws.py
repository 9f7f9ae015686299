"""boto3 clients that honour the checklist's ``aws_region`` / ``aws_endpoint_url`` vars.

The vars win; when empty, boto3's own chain applies (AWS_DEFAULT_REGION, AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_<SERVICE>).
boto3 is imported inside the functions: importing this module costs nothing at start-up.
Everything that talks to AWS (checks, the log pane, the environment banner) builds its client here,
so tests can point all of it at a local moto server with one var or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20


def client_settings(vars: Mapping[str, str] | None = None) -> dict[str, str]:
    """The region and endpoint a client will use: ``{"region_name": ..., "endpoint_url": ...}``.

    Region: var ``aws_region``, else ``AWS_REGION``, else boto3's own chain (AWS_DEFAULT_REGION,
    profile). Endpoint: var ``aws_endpoint_url``; when empty, boto3's own chain applies, which
    reads ``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_<SERVICE>`` (passing the
    general one here would override the per-service one).
    """
    vars = vars or {}
    settings: dict[str, str] = {}
    region = vars.get("aws_region") or os.environ.get("AWS_REGION")
    if region:
        settings["region_name"] = region
    endpoint = vars.get("aws_endpoint_url")
    if endpoint:
        settings["endpoint_url"] = endpoint
    return settings


def client(service: str, vars: Mapping[str, str] | None = None, *, retries: int = 2) -> Any:
    """A boto3 client for ``service`` with short timeouts (a dead network must not hang a pane).

    Args:
        service: boto3 service name (``elasticbeanstalk``, ``logs``, ``cloudwatch`` ...).
        vars: Resolved checklist vars (``aws_region``, ``aws_endpoint_url`` are used).
        retries: botocore's "standard" retry mode max attempts beyond the first.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": retries + 1, "mode": "standard"},
    )
    return boto3.session.Session().client(service, config=config, **client_settings(vars))


def describe_error(exc: BaseException) -> str:
    """One sentence for an operator about a boto3/botocore failure (never a traceback)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE, run `aws configure`, or use a role)"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set the aws_region var (or AWS_REGION)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS at {exc.kwargs.get('endpoint_url', 'its endpoint')}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message", "")
        return f"{code}: {message}".rstrip(": ")
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
