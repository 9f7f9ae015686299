"""Shared by the web checks: an httpx client honouring ``verify``/``tls_ca_file``; capped reads."""

from __future__ import annotations

import os
import ssl
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rsdeploy_tui.checks.reasons import describe_error
from rsdeploy_tui.checks.registry import CheckContext, CheckError, time_left
from rsdeploy_tui.records import datarecord

if TYPE_CHECKING:
    import httpx

BODY_CAP = 1024 * 1024
"""Bytes of a response body kept; the rest is not read (a 10 MB page must not fill memory)."""

TIMED_READ_CAP = 32 * 1024 * 1024
"""Bytes read (and dropped past ``BODY_CAP``) when the time to load the whole response is the
claim; a body still flowing past it (an endless stream) leaves that claim unproven."""

USER_AGENT = "rsdeploy-tui-check/1"

# Response headers worth keeping as evidence.
EVIDENCE_HEADERS = ("content-type", "content-length", "location", "server", "cache-control",
                    "strict-transport-security", "content-security-policy", "x-frame-options",
                    "x-content-type-options", "referrer-policy")


def tls_verify(ctx: CheckContext, params: dict[str, Any]) -> ssl.SSLContext | bool:
    """The ``verify`` value for httpx: the param, else the ``tls_ca_file`` var, else system trust.

    A CA file is added to the system trust store (an extra CA for a self-signed staging site).
    """
    verify = params.get("verify", True)
    if verify is False or (isinstance(verify, str) and verify.lower() in ("false", "no", "0")):
        return False
    ca_file = verify if isinstance(verify, str) and verify.lower() not in ("true", "yes", "1", "") \
        else ctx.var("tls_ca_file")
    return ssl_context(ca_file)


_CONTEXTS: dict[tuple[str, float, bool], ssl.SSLContext] = {}


def ssl_context(ca_file: str, *, verify: bool = True) -> ssl.SSLContext:
    """A client SSL context trusting the system store plus ``ca_file``, shared between checks.

    Building one reads the whole system CA store (~70 ms of CPU on a busy 2-core machine), which
    would serialise 30 concurrent checks; contexts are reused per CA file (and its mtime).

    Raises:
        CheckError: ``ca_file`` does not exist.
    """
    mtime = 0.0
    if ca_file:
        try:
            mtime = os.stat(ca_file).st_mtime
        except OSError as exc:
            raise CheckError(f"CA file not found: {ca_file}") from exc
    key = (ca_file, mtime, verify)
    context = _CONTEXTS.get(key)
    if context is None:
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _CONTEXTS[key] = context
    return context


_MARGIN_S = 0.25
"""Time kept back from the check's limit so a wait that runs out is named by the check itself."""


def request_timeout(limit: float = 20.0) -> float:
    """Seconds one request may wait: ``limit``, or less when the check's time runs out sooner."""
    return max(0.1, min(limit, time_left(limit + _MARGIN_S) - _MARGIN_S))


def client(ctx: CheckContext, params: dict[str, Any], *, follow_redirects: bool = False,
           timeout: float = 20.0) -> httpx.AsyncClient:
    """An AsyncClient for one check (no proxies from the environment: checks hit the site)."""
    import httpx

    return httpx.AsyncClient(
        verify=tls_verify(ctx, params), follow_redirects=follow_redirects,
        timeout=httpx.Timeout(request_timeout(timeout)), trust_env=False, max_redirects=10,
        headers={"User-Agent": USER_AGENT},
    )


def check_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> None:
    """Raise a located ``CheckError`` for a URL no request can be made to.

    An out-of-range port otherwise surfaces from httpx/anyio as "ExceptionGroup: unhandled errors
    in a TaskGroup".
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CheckError(f"invalid URL {url}: {exc}") from None
    if parts.scheme not in schemes:
        raise CheckError(f"invalid URL {url}: expected {' or '.join(schemes)}://")
    if not parts.hostname:
        raise CheckError(f"invalid URL {url}: no host name")
    if port == 0:
        raise CheckError(f"invalid URL {url}: port 0 is not a port a site listens on")


@datarecord
class Fetched:
    """A response with its body read up to ``BODY_CAP``."""

    response: httpx.Response
    body: bytes
    truncated: bool
    elapsed_s: float

    @property
    def status(self) -> int:
        return self.response.status_code

    def text(self) -> str:
        return self.body.decode(self.response.encoding or "utf-8", errors="replace")

    def evidence(self) -> dict[str, Any]:
        """Status, final URL, time and the relevant headers."""
        headers = {k: v for k in EVIDENCE_HEADERS if (v := self.response.headers.get(k))}
        found: dict[str, Any] = {"status": self.status, "url": str(self.response.url),
                                 "elapsed_s": round(self.elapsed_s, 3), "headers": headers}
        if self.response.history:
            found["redirects"] = [f"{r.status_code} {r.url}" for r in self.response.history]
        if self.truncated:
            found["body_truncated_at"] = BODY_CAP
        return found


async def fetch(http: httpx.AsyncClient, method: str, url: str, *, read_cap: int = BODY_CAP,
                **kwargs: Any) -> Fetched:
    """Send a request and read the body up to ``read_cap`` bytes (the first ``BODY_CAP`` kept).

    ``Fetched.truncated`` says the reading stopped before the body ended.

    Raises:
        CheckError: the site could not be reached (refused, DNS, TLS, redirect loop, timeout),
            naming the URL (and, for a time-out, how long it was given).
    """
    check_url(url)
    start = time.monotonic()
    try:
        async with http.stream(method, url, **kwargs) as response:
            chunks: list[bytes] = []
            kept = size = 0
            truncated = False
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if kept < BODY_CAP:
                    chunks.append(chunk[: BODY_CAP - kept])
                    kept += len(chunks[-1])
                if size >= read_cap:
                    truncated = True
                    break
            body = b"".join(chunks)
    except CheckError:
        raise
    except Exception as exc:  # httpx, ssl, socket errors: a reason, not a traceback
        raise CheckError(_request_failure(exc, http, method, url), url=url) from exc
    return Fetched(response, body, truncated, time.monotonic() - start)


def _request_failure(exc: Exception, http: httpx.AsyncClient, method: str, url: str) -> str:
    name = type(exc).__name__
    if name in ("ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"):
        waited = http.timeout.read or http.timeout.connect or 0
        return f"{url} did not answer within {waited:.3g} s ({method})"
    return f"{describe_error(exc)} ({method} {url})"


def excerpt(text: str, limit: int = 300) -> str:
    """The start of a body for evidence."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
