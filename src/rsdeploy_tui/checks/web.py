"""Shared by the web checks: an httpx client honouring ``verify``/``tls_ca_file``; capped reads."""

from __future__ import annotations

import os
import ssl
import time
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.checks.reasons import describe_error
from rsdeploy_tui.checks.registry import CheckContext, CheckError
from rsdeploy_tui.records import datarecord

if TYPE_CHECKING:
    import httpx

BODY_CAP = 1024 * 1024
"""Bytes of a response body kept; the rest is not read (a 10 MB page must not fill memory)."""

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


def client(ctx: CheckContext, params: dict[str, Any], *, follow_redirects: bool = False,
           timeout: float = 20.0) -> httpx.AsyncClient:
    """An AsyncClient for one check (no proxies from the environment: checks hit the site)."""
    import httpx

    return httpx.AsyncClient(
        verify=tls_verify(ctx, params), follow_redirects=follow_redirects,
        timeout=httpx.Timeout(timeout), trust_env=False, max_redirects=10,
        headers={"User-Agent": USER_AGENT},
    )


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


async def fetch(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Fetched:
    """Send a request and read at most ``BODY_CAP`` bytes of the body.

    Raises:
        CheckError: the site could not be reached (refused, DNS, TLS, redirect loop, timeout).
    """
    start = time.monotonic()
    try:
        async with http.stream(method, url, **kwargs) as response:
            chunks: list[bytes] = []
            size, truncated = 0, False
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= BODY_CAP:
                    truncated = True
                    break
            body = b"".join(chunks)[:BODY_CAP]
    except CheckError:
        raise
    except Exception as exc:  # httpx, ssl, socket errors: a reason, not a traceback
        raise CheckError(f"{describe_error(exc)} ({method} {url})", url=url) from exc
    return Fetched(response, body, truncated, time.monotonic() - start)


def excerpt(text: str, limit: int = 300) -> str:
    """The start of a body for evidence."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
