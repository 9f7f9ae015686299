"""boto3 clients that honour the checklist's ``aws_region`` / ``aws_endpoint_url`` vars.

The vars win; when empty, boto3's own chain applies (AWS_DEFAULT_REGION, AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_<SERVICE>).
boto3 is imported inside the functions: importing this module costs nothing at start-up.
Everything that talks to AWS (checks, the log pane, the environment banner) builds its client here,
so tests can point all of it at a local moto server with one var or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Iterable, Mapping
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


def client(service: str, vars: Mapping[str, str] | None = None, *, retries: int = 2,
           connections: int | None = None) -> Any:
    """A boto3 client for ``service`` with short timeouts (a dead network must not hang a pane).

    Args:
        service: boto3 service name (``elasticbeanstalk``, ``logs``, ``cloudwatch`` ...).
        vars: Resolved checklist vars (``aws_region``, ``aws_endpoint_url`` are used).
        retries: botocore's "standard" retry mode max attempts beyond the first.
        connections: HTTP connections kept open at once (botocore's default: 10), for a caller
            that sends more requests than that at a time.
    """
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": retries + 1, "mode": "standard"},
        **({"max_pool_connections": connections} if connections else {}),
    )
    return _session().client(service, config=config, **client_settings(vars))


def preload(services: Iterable[str]) -> None:
    """Parse these services' models into the shared loader (a thread warming up for checks):
    the first client of each then costs what every later one does."""
    for service in services:
        try:  # a client is built only to load its models; no request is made
            _session().client(service, region_name="us-east-1")
        except Exception:  # noqa: BLE001 - the check that needs it reports what is wrong
            continue


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def _session() -> Any:
    """A new boto3 session sharing one data loader with every other.

    New, so credentials and config are read afresh for every client (an ``aws sso login`` made
    during the deployment is used by the next check). Sharing the loader keeps the parsed service
    models: parsing them is most of a client's cost (100-300 ms of CPU per client with a session
    of its own, 20-40 ms with the loader shared), and that CPU holds the GIL the screen needs
    while checks run in threads.
    """
    import boto3.session
    import botocore.session

    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            first = boto3.session.Session()
            _LOADER = first._loader
            return first
        core = botocore.session.Session()
        core.register_component("data_loader", _LOADER)
        paths = list(_LOADER.search_paths)
        session = boto3.session.Session(botocore_session=core)
        _LOADER.search_paths[:] = paths  # boto3 adds its data folder each time: once is enough
    return session


_HTML = re.compile(r"<\s*(!doctype|html|head|body|title|h1)\b", re.IGNORECASE)
_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def plain_message(message: str) -> str:
    """An AWS error message fit for a sentence: an HTML page (a proxy's or load balancer's error
    page, a wrong endpoint) is named by its title, never shown as markup or a bytes repr."""
    if not _HTML.search(message):
        return " ".join(message.split())
    title = _TITLE.search(message)
    named = f' ("{" ".join(html.unescape(re.sub("<[^>]+>", "", title[2])).split())[:80]}")' \
        if title else ""
    return (f"the endpoint answered with an HTML page{named} instead of an AWS response "
            "(a proxy or load balancer in the way, or a wrong aws_endpoint_url)")


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
        code = str(error.get("Code", "Error"))
        message = plain_message(str(error.get("Message", "")))
        if code.isdigit():
            code = f"HTTP {code}"
        return f"{code}: {message}".rstrip(": ")
    if type(exc).__name__ == "ResponseParserError":
        return f"unreadable answer from the AWS endpoint: {plain_message(str(exc))}"
    text = plain_message(str(exc).strip()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
