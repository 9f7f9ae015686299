"""Web checks against local HTTP/HTTPS servers, including the hostile cases."""

from __future__ import annotations

import json
import re

from checkrun import run
from web_servers import WebServers

from rsdeploy_tui.checks.registry import CheckContext


def ctx(web: WebServers, **extra: str) -> CheckContext:
    return CheckContext(vars={"base_url": web.https.url, "http_url": web.http.url,
                              "tls_ca_file": str(web.ca_file), **extra})


async def test_health_json_passes_with_status_and_headers(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/health",
                       expect_json={"status": "healthy"})
    assert result.status == "pass", result.summary
    assert result.evidence["status"] == 200
    assert result.evidence["headers"]["content-type"] == "application/json"
    assert result.evidence["json"] == '{"status": "healthy", "database": "ok"}'
    assert result.duration_s > 0


async def test_health_json_mismatch_names_the_field(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/unhealthy",
                       expect_json={"status": "healthy"})
    assert result.status == "fail"
    assert "$.status" in result.summary and "degraded" in result.summary


async def test_unexpected_status_fails(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/status/500")
    assert result.status == "fail"
    assert "status 500" in result.summary
    assert result.evidence["body"] == "status page"
    ok = await run("http", ctx(web), url="${base_url}/status/503", expect_status=[200, 503])
    assert ok.status == "pass"


async def test_expect_text_and_max_seconds(web: WebServers) -> None:
    # The limit is generous on the passing side (a loaded machine must not fail it) and below
    # the page's own built-in delay on the failing side (no machine answers /slow faster).
    found = await run("http", ctx(web), url="${base_url}/", expect_text="RS Systems",
                      max_seconds=60)
    assert found.status == "pass"
    assert found.evidence["max_seconds"] == 60
    slow = await run("http", ctx(web), url="${base_url}/slow", max_seconds=0.1)
    assert slow.status == "fail"
    assert "limit 0.1 s" in slow.summary


async def test_untrusted_without_ca_file_is_an_error(web: WebServers) -> None:
    result = await run("http", CheckContext(vars={"base_url": web.https.url}),
                       url="${base_url}/health")
    assert result.status == "error"
    assert "certificate" in result.summary.lower()
    assert "Traceback" not in result.summary


async def test_verify_param_accepts_a_ca_file(web: WebServers) -> None:
    result = await run("http", CheckContext(), url=f"{web.https.url}/health",
                       verify=str(web.ca_file))
    assert result.status == "pass", result.summary


async def test_connection_refused(web: WebServers) -> None:
    result = await run("http", ctx(web), url=f"http://127.0.0.1:{web.refused_port}/")
    assert result.status == "error"
    assert "connection refused" in result.summary


async def test_dns_failure() -> None:
    result = await run("http", CheckContext(), url="https://no-such-host.invalid/health")
    assert result.status == "error"
    assert "DNS lookup failed" in result.summary


async def test_timeout_is_an_error_naming_the_url(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/slow", timeout=0.2)
    assert result.status == "error"
    assert result.summary == f"{web.https.url}/slow did not answer within 0.1 s (GET)"


async def test_big_body_is_capped(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/big", expect_json={"status": "ok"})
    assert result.status == "fail"
    assert "larger than 1 MB" in result.summary
    assert result.evidence["body_truncated_at"] == 1024 * 1024
    text = await run("http", ctx(web), url="${base_url}/big", expect_text="nothing")
    assert text.status == "fail" and "first 1 MB" in text.summary


async def test_invalid_json(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/badjson",
                       expect_json={"status": "healthy"})
    assert result.status == "fail"
    assert "not valid JSON" in result.summary
    assert result.evidence["body"].startswith('{"status"')


async def test_redirect_loop(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${base_url}/loop", follow_redirects=True)
    assert result.status == "error"
    assert "redirect loop" in result.summary
    unfollowed = await run("http", ctx(web), url="${base_url}/loop", expect_status=302)
    assert unfollowed.status == "pass"
    assert unfollowed.evidence["headers"]["location"] == "/loop"


async def test_tls_handshake_failure(web: WebServers) -> None:
    result = await run("http", ctx(web), url=f"{web.not_tls}/health")
    assert result.status == "error"
    assert "TLS" in result.summary


async def test_https_redirect(web: WebServers) -> None:
    good = await run("https_redirect", ctx(web), url="${http_url}/to-https")
    assert good.status == "pass", good.summary
    assert good.evidence["hops"] == [f"301 {web.http.url}/to-https -> {web.https.url}/",
                                     f"200 {web.https.url}/"]
    assert good.evidence["final_status"] == 200
    not_https = await run("https_redirect", ctx(web), url="${http_url}/to-http")
    assert not_https.status == "fail" and "not https" in not_https.summary
    other = await run("https_redirect", ctx(web), url="${http_url}/to-other-host")
    assert other.status == "fail" and "another host (other.invalid)" in other.summary
    none = await run("https_redirect", ctx(web), url="${http_url}/health")
    assert none.status == "fail" and "status 200" in none.summary


async def test_https_redirect_to_a_port_without_tls_fails(web: WebServers) -> None:
    result = await run("https_redirect", ctx(web), url="${http_url}/to-no-tls")
    assert result.status == "fail", result.summary
    assert f"the redirect target {web.not_tls}/ fails: TLS" in result.summary
    assert result.evidence["hops"][0] == f"301 {web.http.url}/to-no-tls -> {web.not_tls}/"


async def test_https_redirect_to_a_frozen_server_fails_naming_it(web: WebServers) -> None:
    frozen = f"https://127.0.0.1:{web.frozen_port}/"
    result = await run("https_redirect", ctx(web, base_url=frozen.rstrip("/")),
                       url="${http_url}/to-frozen", timeout=3)
    assert result.status == "fail", result.summary
    assert f"{frozen} did not answer within" in result.summary
    assert result.evidence["hops"][-1].startswith(f"{frozen}: {frozen} did not answer within")


async def test_https_redirect_must_end_at_the_sites_port_and_answer(web: WebServers) -> None:
    elsewhere = await run("https_redirect", ctx(web, base_url=web.expired.url),
                          url="${http_url}/to-https")
    assert elsewhere.status == "fail"
    assert f"expected https://127.0.0.1:{web.expired.port}" in elsewhere.summary
    missing = await run("https_redirect", ctx(web), url="${http_url}/to-https-missing")
    assert missing.status == "fail" and "answering 404" in missing.summary
    untrusted = await run("https_redirect", CheckContext(
        vars={"base_url": web.https.url, "http_url": web.http.url}), url="${http_url}/to-https")
    assert untrusted.status == "fail" and "TLS certificate not trusted" in untrusted.summary


async def test_https_redirect_loop(web: WebServers) -> None:
    result = await run("https_redirect", ctx(web), url="${http_url}/to-https-loop")
    assert result.status == "fail"
    assert f"redirect loop back to {web.https.url}/https-loop-a" in result.summary
    assert len(result.evidence["hops"]) == 3


async def test_invalid_port_is_a_sentence(web: WebServers) -> None:
    for check in ("http", "security_headers", "response_time"):
        result = await run(check, ctx(web), url="https://127.0.0.1:99999/")
        assert result.status == "error"
        assert result.summary == "invalid URL https://127.0.0.1:99999/: Port out of range 0-65535"
    tls = await run("tls_cert", ctx(web), url="https://127.0.0.1:99999/")
    assert tls.status == "error"
    assert tls.summary == "invalid URL https://127.0.0.1:99999/: Port out of range 0-65535"


async def test_endless_body_is_not_a_response_time(web: WebServers) -> None:
    result = await run("response_time", ctx(web), url="${base_url}/endless")
    assert result.status == "error"
    assert result.summary.startswith(f"not proven: {web.https.url}/endless was still sending")
    timed = await run("http", ctx(web), url="${base_url}/endless", max_seconds=30)
    assert timed.status == "error" and timed.summary.startswith("not proven")


async def test_a_time_out_names_what_timed_out(web: WebServers) -> None:
    frozen = f"https://127.0.0.1:{web.frozen_port}/health"
    result = await run("http", ctx(web), url=frozen, timeout=2)
    assert result.status == "error"
    assert result.summary.startswith(f"{frozen} did not answer within 1.75 s"), result.summary
    tls = await run("tls_cert", ctx(web), host="127.0.0.1", port=web.frozen_port, timeout=2)
    assert tls.status == "error"
    assert tls.summary == (f"127.0.0.1:{web.frozen_port} did not complete a TLS handshake "
                           "within 1.75 s"), tls.summary


async def test_security_headers_verdict_per_header(web: WebServers) -> None:
    good = await run("security_headers", ctx(web), url="${base_url}/")
    assert good.status == "pass", good.summary
    assert set(good.evidence["verdicts"].values()) == {"ok"}
    weak = await run("security_headers", ctx(web), url="${base_url}/weak")
    assert weak.status == "fail"
    verdicts = weak.evidence["verdicts"]
    assert verdicts["Strict-Transport-Security"].startswith("weak: max-age 300")
    assert verdicts["Content-Security-Policy"] == "missing"
    assert verdicts["X-Frame-Options"] == "weak: ALLOWALL"
    assert verdicts["X-Content-Type-Options"] == "ok"
    assert verdicts["Referrer-Policy"] == "weak: unsafe-url"
    bare = await run("security_headers", ctx(web), url="${base_url}/bare",
                     require=["X-Content-Type-Options"])
    assert bare.status == "fail" and "1 of 1" in bare.summary


async def test_cookies(web: WebServers) -> None:
    good = await run("cookies", ctx(web), url="${base_url}/")
    assert good.status == "pass", good.summary
    assert {c["name"] for c in good.evidence["cookies"]} == {"csrftoken", "sessionid"}
    assert "s3cr3t" not in json.dumps(good.evidence)  # cookie values are never evidence
    insecure = await run("cookies", ctx(web), url="${base_url}/bare")
    assert insecure.status == "fail" and "sessionid without Secure" in insecure.summary
    readable = await run("cookies", ctx(web), url="${base_url}/session-not-httponly")
    assert readable.status == "fail" and "without HttpOnly" in readable.summary


async def test_csrf(web: WebServers) -> None:
    protected = await run("csrf", ctx(web), url="${base_url}/login")
    assert protected.status == "pass", protected.summary
    assert protected.evidence["status"] == 403
    open_form = await run("csrf", ctx(web), url="${base_url}/open-form")
    assert open_form.status == "fail" and "answered 200" in open_form.summary


async def test_response_time_against_baseline(web: WebServers) -> None:
    context = ctx(web)
    context.results["pre.perf-baseline"] = {"evidence": {"times": {f"{web.https.url}/slow": 0.1}}}
    slower = await run("response_time", context, url="${base_url}/slow", baseline="perf-baseline")
    assert slower.status == "fail", slower.summary
    assert "slower than 1.5x" in slower.summary
    # Passing: a baseline the page cannot be 1.5x slower than on any machine (no speed claim).
    context.results["pre.perf-generous"] = {
        "evidence": {"times": {f"{web.https.url}/slow": 60.0}}}
    same = await run("response_time", context, url="${base_url}/slow",
                     baseline="pre.perf-generous")
    assert same.status == "pass", same.summary
    # factor is honoured: against the 0.1 s baseline the default 1.5x fails (above), 600x
    # (60 s, a generous bound) passes.
    loose = await run("response_time", context, url="${base_url}/slow",
                      baseline="pre.perf-baseline", factor=600)
    assert loose.status == "pass", loose.summary
    missing = await run("response_time", context, url="${base_url}/", baseline="nothing")
    assert missing.status == "skipped"
    measure = await run("response_time", context, urls=["${base_url}/", "${base_url}/health"])
    assert measure.status == "pass" and len(measure.evidence["times"]) == 2


async def test_unknown_var_is_an_error(web: WebServers) -> None:
    result = await run("http", ctx(web), url="${nope}/health")
    assert result.status == "error"
    assert "${nope}" in result.summary


async def test_tls_cert_good_derives_host_from_base_url(web: WebServers) -> None:
    result = await run("tls_cert", ctx(web))
    assert result.status == "pass", result.summary
    assert result.evidence["port"] == web.https.port
    assert result.evidence["days_left"] > 300
    # The issuer is trustme's CA, named in full (not merely a string that mentions trustme).
    assert re.fullmatch(r"organizationName=trustme v[\d.]+, "
                        r"organizationalUnitName=Testing CA #\S+", result.evidence["issuer"])
    assert result.evidence["not_after"]
    near = await run("tls_cert", ctx(web), min_days=10**7)
    assert near.status == "fail" and "expires in" in near.summary


async def test_tls_cert_expired(web: WebServers) -> None:
    result = await run("tls_cert", ctx(web, base_url=web.expired.url))
    assert result.status == "fail"
    assert "expired" in result.summary
    assert result.evidence["days_left"] < 0


async def test_tls_cert_wrong_host(web: WebServers) -> None:
    result = await run("tls_cert", ctx(web), host="127.0.0.1", port=web.wrong_host.port)
    assert result.status == "fail"
    assert result.summary == (f"127.0.0.1:{web.wrong_host.port}: certificate not trusted: IP "
                              "address mismatch, certificate is not valid for '127.0.0.1'.")
    assert result.evidence["names"] == ["wrong-host.example"]


async def test_tls_cert_handshake_failure_and_refused(web: WebServers) -> None:
    plain = await run("tls_cert", ctx(web), url=web.not_tls)
    assert plain.status == "error" and "TLS" in plain.summary
    refused = await run("tls_cert", ctx(web), host="127.0.0.1", port=web.refused_port)
    assert refused.status == "error" and "connection refused" in refused.summary
