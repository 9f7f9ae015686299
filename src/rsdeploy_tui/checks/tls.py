"""tls_cert: the site's certificate chain is trusted, names the host, and is not about to expire."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from rsdeploy_tui.checks.reasons import describe_error, one_line
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed
from rsdeploy_tui.checks.web import request_timeout, ssl_context


def _target(ctx: CheckContext, params: dict[str, Any]) -> tuple[str, int]:
    """Host and port: the params, else derived from ``url`` or the ``base_url`` var."""
    url = params.get("url") or ctx.var("base_url")
    parts = urlsplit(url) if url else None
    host = params.get("host") or (parts.hostname if parts else None)
    if not host:
        raise CheckError("tls_cert needs host, url or the base_url var")
    try:
        port = params.get("port") or (parts.port if parts and parts.port else 443)
    except ValueError as exc:
        raise CheckError(f"invalid URL {url}: {exc}") from None
    try:
        number = int(port)
    except ValueError as exc:
        raise CheckError(f"port must be a number, got {port!r}") from exc
    if not 0 < number < 65536:
        raise CheckError(f"port {number} is not between 1 and 65535")
    return str(host), number


async def _handshake(host: str, port: int, context: ssl.SSLContext
                     ) -> tuple[dict[str, Any], bytes | None, str | None]:
    """Peer certificate (parsed when verified), its DER bytes, and the TLS version."""
    _reader, writer = await asyncio.open_connection(host, port, ssl=context,
                                                    server_hostname=host)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return (ssl_object.getpeercert() or {}, ssl_object.getpeercert(binary_form=True),
                ssl_object.version())
    finally:
        writer.close()
        # The server may drop the connection first; the certificate is already read.
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _describe_der(der: bytes) -> dict[str, Any]:
    """Subject, issuer, notAfter and names of an untrusted certificate (needs cryptography)."""
    try:
        from cryptography import x509
    except ImportError:
        return {}
    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        alt = [str(n.value) for n in names]
    except x509.ExtensionNotFound:
        alt = []
    not_after = cert.not_valid_after_utc
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "not_after": not_after.isoformat(), "names": alt,
            "days_left": (not_after - datetime.now(UTC)).days}


def _describe_peer(cert: dict[str, Any]) -> dict[str, Any]:
    def name(rdns: Any) -> str:
        return ", ".join(f"{k}={v}" for rdn in rdns for k, v in rdn)

    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    return {"subject": name(cert.get("subject", ())), "issuer": name(cert.get("issuer", ())),
            "not_after": not_after.isoformat(),
            "names": [v for _, v in cert.get("subjectAltName", ())],
            "days_left": (not_after - datetime.now(UTC)).days}


async def check_tls_cert(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Chain valid, hostname matches, at least ``min_days`` left."""
    host, port = _target(ctx, params)
    ca_file = str(params.get("ca_file") or ctx.var("tls_ca_file"))
    min_days = int(params.get("min_days", 14))
    where = f"{host}:{port}"
    evidence: dict[str, Any] = {"host": host, "port": port, "min_days": min_days}
    limit = request_timeout()
    try:
        peer, _der, version = await asyncio.wait_for(
            _handshake(host, port, ssl_context(ca_file, verify=True)), limit)
    except TimeoutError as exc:
        raise CheckError(f"{where} did not complete a TLS handshake within {limit:.3g} s",
                         **evidence) from exc
    except ssl.SSLCertVerificationError as exc:
        # Trust failed: look again without verifying, to show what the site presents.
        reason = one_line(exc.verify_message or str(exc))
        try:
            _peer, der, _version = await asyncio.wait_for(
                _handshake(host, port, ssl_context(ca_file, verify=False)), request_timeout())
            evidence.update(_describe_der(der) if der else {})
        except (OSError, ssl.SSLError):  # TimeoutError included
            pass  # the evidence is only a courtesy; the verdict stands
        return failed(f"{where}: certificate not trusted: {reason}", **evidence)
    except CheckError:
        raise
    except (OSError, ssl.SSLError) as exc:
        raise CheckError(f"{where}: {describe_error(exc)}", **evidence) from exc
    evidence.update(_describe_peer(peer) if peer else {})
    evidence["tls_version"] = version
    days = evidence.get("days_left", 0)
    if days < min_days:
        return failed(f"{where}: certificate expires in {days} days (< {min_days})", **evidence)
    return passed(f"{where}: trusted, {days} days left", **evidence)
