"""One-line reasons for the exceptions checks meet, read by an operator instead of a traceback."""

from __future__ import annotations

import socket
import ssl

_MAX = 300


def one_line(text: str, limit: int = _MAX) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """A short sentence naming what went wrong, without a traceback.

    Recognises network, TLS, DNS, httpx, botocore and psycopg2 failures by name so this module
    imports none of those libraries.
    """
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        # anyio/httpx wrap the real failure in a task group: name that one, not the group.
        return describe_error(exc.exceptions[0])
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, socket.gaierror):
            return f"DNS lookup failed: {one_line(err.strerror or str(err))}"
        if isinstance(err, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {one_line(err.verify_message or str(err))}"
        if isinstance(err, ssl.SSLError):
            return f"TLS handshake failed: {one_line(err.reason or str(err))}"
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, TimeoutError):
            return "timed out"
    name = type(exc).__name__
    module = type(exc).__module__
    text = one_line(str(exc))
    if module.startswith("httpx"):
        return _httpx_reason(name, text, chain)
    if module.startswith("botocore"):
        return _aws_reason(exc, name, text)
    if module.startswith("psycopg2"):
        return f"database: {text or name}"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {exc.filename or text}"
    if isinstance(exc, OSError):
        return one_line(exc.strerror or text or name)
    return f"{name}: {text}" if text else name


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _httpx_reason(name: str, text: str, chain: list[BaseException]) -> str:
    if name == "ConnectError":
        lowered = text.lower()
        if "name or service not known" in lowered or "nodename nor servname" in lowered or (
                "name resolution" in lowered):
            return f"DNS lookup failed: {text}"
        if "refused" in lowered:
            return "connection refused"
        if "certificate" in lowered:
            return f"TLS certificate not trusted: {text}"
        if "ssl" in lowered or "tls" in lowered or "handshake" in lowered:
            return f"TLS handshake failed: {text}"
        return f"cannot connect: {text}"
    if name == "TooManyRedirects":
        return f"redirect loop: {text}"
    if name in ("ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"):
        return f"timed out ({name})"
    if name in ("RemoteProtocolError", "ReadError"):
        return f"connection broken: {text or name}"
    if name in ("InvalidURL", "UnsupportedProtocol"):
        return f"bad URL: {text}"
    return f"{name}: {text}" if text else name


def _aws_reason(exc: BaseException, name: str, text: str) -> str:
    from rsdeploy_tui.aws import plain_message

    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, message = str(error.get("Code", name)), plain_message(str(error.get("Message", "")))
        code = f"HTTP {code}" if code.isdigit() else code
        return one_line(f"AWS {code}: {message}" if message else f"AWS {code}")
    if name == "ResponseParserError":
        return one_line(f"unreadable answer from the AWS endpoint: {plain_message(text)}")
    if name == "NoCredentialsError":
        return "AWS credentials not found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
    if name == "NoRegionError":
        return "no AWS region: set the aws_region var (or AWS_REGION)"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"cannot reach AWS: {text}"
    return f"AWS {name}: {text}" if text else f"AWS {name}"
