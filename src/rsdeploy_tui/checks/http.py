"""Web checks: http, https_redirect, security_headers, cookies, csrf, response_time."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

from rsdeploy_tui.checks.registry import (
    CheckContext,
    CheckError,
    CheckResult,
    failed,
    passed,
    skipped,
)
from rsdeploy_tui.checks.web import BODY_CAP, TIMED_READ_CAP, client, excerpt, fetch

_MISSING = object()


def _expected_statuses(value: Any, default: int = 200) -> list[int]:
    values = value if isinstance(value, list) else [default if value is None else value]
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise CheckError(f"expect_status must be a status code or a list of them: {value!r}") \
            from exc


def json_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Where ``actual`` does not contain ``expected`` (mappings compare as subsets), or None."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path} is {type(actual).__name__}, expected an object"
        for key, value in expected.items():
            found = actual.get(key, _MISSING)
            if found is _MISSING:
                return f"{path}.{key} is missing"
            problem = json_mismatch(value, found, f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path} is {json.dumps(actual)[:80]}, expected {json.dumps(expected)[:80]}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problem = json_mismatch(want, got, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if expected != actual:
        return f"{path} is {json.dumps(actual)[:80]}, expected {json.dumps(expected)[:80]}"
    return None


async def check_http(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """A page answers with the expected status, JSON, text and within ``max_seconds``."""
    url, method = params["url"], str(params.get("method", "GET")).upper()
    statuses = _expected_statuses(params.get("expect_status"))
    timed = params.get("max_seconds") is not None
    async with client(ctx, params, follow_redirects=bool(params.get("follow_redirects"))) as http:
        got = await fetch(http, method, url, headers=params.get("headers") or None,
                          read_cap=TIMED_READ_CAP if timed else BODY_CAP)
    evidence = got.evidence()
    if timed and got.truncated:
        raise CheckError(_unread(url), **evidence)
    problems: list[str] = []
    if got.status not in statuses:
        problems.append(f"status {got.status}, expected {' or '.join(map(str, statuses))}")
    if "expect_json" in params:
        if got.truncated:
            problems.append("body larger than 1 MB, not parsed as JSON")
        else:
            try:
                document = json.loads(got.body)
            except ValueError:
                problems.append("response is not valid JSON")
                evidence["body"] = excerpt(got.text())
            else:
                evidence["json"] = excerpt(json.dumps(document))
                problem = json_mismatch(params["expect_json"], document)
                if problem:
                    problems.append(problem)
    if "expect_text" in params and str(params["expect_text"]) not in got.text():
        note = " (first 1 MB searched)" if got.truncated else ""
        problems.append(f"text {params['expect_text']!r} not found{note}")
    max_seconds = params.get("max_seconds")
    if max_seconds is not None:
        evidence["max_seconds"] = max_seconds
        if got.elapsed_s > float(max_seconds):
            problems.append(f"took {got.elapsed_s:.2f} s, limit {max_seconds} s")
    if problems:
        evidence.setdefault("body", excerpt(got.text()))
        return failed(f"{url}: " + "; ".join(problems), **evidence)
    return passed(f"{url}: {got.status} in {got.elapsed_s:.2f} s", **evidence)


REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_HOPS = 10


def _site(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


async def check_https_redirect(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """An http:// URL redirects, hop by hop, to an https:// page of the site that answers.

    Every hop is followed (at most ``MAX_HOPS``): the chain must end on ``https://`` at the host
    and port of the ``base_url`` var (else the http URL's host, port 443), with a TLS handshake
    that verifies (``verify``/``tls_ca_file``) and a response below 400. A target that does not
    speak TLS, never answers, is another host, or loops fails, naming the hop.
    """
    url = params["url"]
    if urlsplit(url).scheme != "http":
        raise CheckError(f"https_redirect needs an http:// URL, got {url}")
    base = ctx.var("base_url")
    expected = _site(base) if base.startswith("https://") else (_site(url)[0], 443)
    allowed_hosts = {expected[0], _site(url)[0]}
    want = f"https://{expected[0]}:{expected[1]}"
    hops: list[str] = []
    evidence: dict[str, Any] = {"url": url, "expected": want, "hops": hops}
    current, seen = url, {url}
    async with client(ctx, params) as http:
        for hop in range(MAX_HOPS + 1):
            try:
                got = await fetch(http, "GET", current)
            except CheckError as exc:
                if hop == 0:
                    raise
                hops.append(f"{current}: {exc.reason}")
                return failed(f"{url}: the redirect target {current} fails: {exc.reason}",
                              **evidence)
            location = got.response.headers.get("location", "")
            if got.status not in REDIRECT_STATUSES or not location:
                hops.append(f"{got.status} {current}")
                break
            target = urljoin(current, location)
            hops.append(f"{got.status} {current} -> {target}")
            if target in seen:
                return failed(f"{url}: redirect loop back to {target}", **evidence)
            if hop == 0 and not target.startswith("https://"):
                return failed(f"{url}: redirects to {target}, not https", **evidence)
            if current.startswith("https://") and not target.startswith("https://"):
                return failed(f"{url}: {current} redirects back to {target} (not https)",
                              **evidence)
            if _site(target)[0] not in allowed_hosts:
                return failed(f"{url}: redirects to another host ({_site(target)[0]}), "
                              f"expected {expected[0]}", **evidence)
            seen.add(target)
            current = target
        else:
            return failed(f"{url}: more than {MAX_HOPS} redirects", **evidence)
    evidence.update(final_url=current, final_status=got.status)
    if hop == 0:
        return failed(f"{url}: status {got.status}, expected a redirect to https", **evidence)
    if not current.startswith("https://"):
        return failed(f"{url}: the redirects end on {current}, not https", **evidence)
    if _site(current) != expected:
        return failed(f"{url}: the redirects end on {current}, expected {want}", **evidence)
    if got.status >= 400:
        return failed(f"{url}: the redirects end on {current} answering {got.status}",
                      **evidence)
    return passed(f"{url}: {len(hops) - 1} redirect(s) to {current}, TLS verified, "
                  f"{got.status}", **evidence)


HSTS_MIN_AGE = 15552000
"""Six months, the HSTS max-age the MDN Observatory asks for."""
DEFAULT_HEADERS = ["Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
                   "X-Content-Type-Options", "Referrer-Policy"]


def header_verdict(name: str, headers: Any) -> str:
    """``ok`` or why the header is missing or weak."""
    lower = name.lower()
    value = headers.get(lower)
    csp = headers.get("content-security-policy", "")
    if lower == "x-frame-options":
        if value and value.strip().upper() in ("DENY", "SAMEORIGIN"):
            return "ok"
        if "frame-ancestors" in csp:
            return "ok"
        return f"weak: {value}" if value else "missing"
    if value is None:
        return "missing"
    if lower == "strict-transport-security":
        age = next((p.split("=", 1)[1].strip().strip('"') for p in value.split(";")
                    if p.strip().lower().startswith("max-age=")), "")
        if not age.isdigit():
            return "weak: no max-age"
        return "ok" if int(age) >= HSTS_MIN_AGE else f"weak: max-age {age} < {HSTS_MIN_AGE}"
    if lower == "x-content-type-options":
        return "ok" if value.strip().lower() == "nosniff" else f"weak: {value}"
    if lower == "referrer-policy":
        policy = value.split(",")[-1].strip().lower()
        return f"weak: {policy}" if policy in ("unsafe-url", "no-referrer-when-downgrade") \
            else "ok"
    return "ok" if value.strip() else "missing"


async def check_security_headers(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """The page sends each required security header with a safe value (a verdict per header)."""
    url = params["url"]
    require = [str(h) for h in params.get("require") or DEFAULT_HEADERS]
    async with client(ctx, params) as http:
        got = await fetch(http, "GET", url)
    verdicts = {name: header_verdict(name, got.response.headers) for name in require}
    values = {name: got.response.headers.get(name) for name in require}
    evidence = {"status": got.status, "url": url, "verdicts": verdicts, "values": values}
    bad = [f"{name} {verdict}" for name, verdict in verdicts.items() if verdict != "ok"]
    if bad:
        return failed(f"{len(bad)} of {len(require)} headers: " + "; ".join(bad), **evidence)
    return passed(f"all {len(require)} security headers present", **evidence)


def parse_set_cookie(header: str) -> dict[str, Any]:
    """Name and flags of one Set-Cookie header (the value is not kept: it may be a session)."""
    name = header.split("=", 1)[0].strip()
    flags = [part.strip().lower() for part in header.split(";")[1:]]
    same_site = next((f.split("=", 1)[1] for f in flags if f.startswith("samesite=")), None)
    return {"name": name, "secure": "secure" in flags, "httponly": "httponly" in flags,
            "samesite": same_site}


async def check_cookies(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Every cookie the page sets is Secure; the session cookie is also HttpOnly."""
    url = params["url"]
    session_name = str(params.get("session_cookie", "sessionid"))
    async with client(ctx, params) as http:
        got = await fetch(http, "GET", url)
    cookies = [parse_set_cookie(h) for h in got.response.headers.get_list("set-cookie")]
    evidence = {"status": got.status, "url": url, "cookies": cookies,
                "session_cookie": session_name}
    if not cookies:
        return passed(f"{url}: no cookies set", **evidence)
    problems = [f"{c['name']} without Secure" for c in cookies if not c["secure"]]
    problems += [f"{c['name']} without HttpOnly" for c in cookies
                 if c["name"] == session_name and not c["httponly"]]
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(f"{len(cookies)} cookie(s), all Secure", **evidence)


async def check_csrf(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """A form endpoint rejects a POST without a CSRF token with 403."""
    url = params["url"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    async with client(ctx, params) as http:
        # Referer/Origin of the site itself, so a 403 means "no token", not "bad referer".
        got = await fetch(http, "POST", url, data={"probe": "rsdeploy"},
                          headers={"Referer": url, "Origin": origin})
    evidence = {"status": got.status, "url": url, "body": excerpt(got.text(), 200)}
    if got.status == 403:
        return passed(f"{url}: POST without token rejected (403)", **evidence)
    if got.status == 405:
        return failed(f"{url}: POST not allowed (405): not a form endpoint", **evidence)
    return failed(f"{url}: POST without CSRF token answered {got.status}, expected 403",
                  **evidence)


_SLACK_S = 0.05
"""Differences under 50 ms are noise, whatever the factor (4 ms then 7 ms is fine)."""


async def check_response_time(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Load times of the URLs; with ``baseline``, fails when slower than ``factor`` x baseline."""
    urls = [str(u) for u in params.get("urls") or []] + (
        [str(params["url"])] if params.get("url") else [])
    if not urls:
        raise CheckError("response_time needs url or urls")
    times: dict[str, float] = {}
    async with client(ctx, params) as http:
        for url in urls:
            got = await fetch(http, "GET", url, read_cap=TIMED_READ_CAP)
            if got.truncated:
                raise CheckError(_unread(url), times=times, **got.evidence())
            if got.status >= 400:
                return failed(f"{url}: status {got.status}", times=times, **got.evidence())
            times[url] = round(got.elapsed_s, 3)
    evidence: dict[str, Any] = {"times": times}
    max_seconds = params.get("max_seconds")
    if max_seconds is not None:
        evidence["max_seconds"] = max_seconds
        over = [f"{u} {t:.2f} s" for u, t in times.items() if t > float(max_seconds)]
        if over:
            return failed(f"slower than {max_seconds} s: " + "; ".join(over), **evidence)
    ref = params.get("baseline")
    if not ref:
        slowest = max(times, key=lambda u: times[u])
        return passed(f"slowest {times[slowest]:.2f} s ({slowest})", **evidence)
    base = ctx.baseline(str(ref))
    if base is None:
        return skipped(f"no baseline recorded for {ref} in this session", **evidence)
    base_times = _times_of(base)
    factor = float(params.get("factor", 1.5))
    evidence.update(baseline=ref, baseline_times=base_times, factor=factor)
    slower = []
    for url, seconds in times.items():
        before = base_times.get(url)
        if before is None and len(base_times) == 1 and len(times) == 1:
            before = next(iter(base_times.values()))
        if before is not None and seconds > before * factor and seconds - before > _SLACK_S:
            slower.append(f"{url} {seconds:.2f} s vs {before:.2f} s")
    if slower:
        return failed(f"slower than {factor:g}x baseline: " + "; ".join(slower), **evidence)
    return passed(f"within {factor:g}x of baseline ({len(times)} URL(s))", **evidence)


def _unread(url: str) -> str:
    return (f"not proven: {url} was still sending after {TIMED_READ_CAP // (1024 * 1024)} MB, "
            "so the time to load the whole response is unknown")


def _times_of(evidence: dict[str, Any]) -> dict[str, float]:
    times = evidence.get("times")
    if isinstance(times, dict):
        return {str(k): float(v) for k, v in times.items()}
    if "elapsed_s" in evidence and "url" in evidence:
        return {str(evidence["url"]): float(evidence["elapsed_s"])}
    return {}
