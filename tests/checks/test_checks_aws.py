"""AWS checks against moto (S3, CloudWatch, Logs) and the EB API stub."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from checkrun import run

from rsdeploy_tui.checks.registry import CheckContext

ENV = "rs-systems-prod"


def ctx(**vars: str) -> CheckContext:
    return CheckContext(vars={"eb_env": ENV, **vars}, environ=dict(os.environ),
                        secrets=("SECRET_KEY", "DB_PASSWORD", "ADMIN_PASSWORD"))


async def test_s3_backup_fresh_stale_small_missing(aws_env: Any) -> None:
    aws_env.create_bucket("backups", {"emergency/old.sql": "x" * 10,
                                      "emergency/db-2026.sql": "y" * 4096})
    fresh = await run("s3_object", ctx(), bucket="backups", prefix="emergency/", min_bytes=1024,
                      max_age_minutes=60)
    assert fresh.status == "pass", fresh.summary
    assert fresh.evidence["key"] == "emergency/db-2026.sql"
    assert fresh.evidence["size"] == 4096 and fresh.evidence["objects"] == 2
    small = await run("s3_object", ctx(), bucket="backups", prefix="emergency/old", min_bytes=1024)
    assert small.status == "fail" and "10 bytes < 1024" in small.summary
    stale = await run("s3_object", ctx(), bucket="backups", prefix="emergency/",
                      max_age_minutes=-1)
    assert stale.status == "fail" and "min old" in stale.summary
    none = await run("s3_object", ctx(), bucket="backups", prefix="nothing/")
    assert none.status == "fail" and "no object under s3://backups/nothing/" in none.summary
    no_bucket = await run("s3_object", ctx(), bucket="no-such-bucket")
    assert no_bucket.status == "error" and "NoSuchBucket" in no_bucket.summary


async def test_aws_endpoint_var_is_honoured(aws_env: Any, monkeypatch: Any) -> None:
    aws_env.create_bucket("backups", {"k": "v"})
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    found = await run("s3_object", ctx(aws_endpoint_url=aws_env.endpoint_url), bucket="backups")
    assert found.status == "pass", found.summary
    unreachable = await run("s3_object", ctx(aws_endpoint_url="http://127.0.0.1:9"),
                            bucket="backups", timeout=20)
    assert unreachable.status == "error"
    assert unreachable.summary == "connection refused"


async def test_cloudwatch_alarms(aws_env: Any) -> None:
    none = await run("cloudwatch_alarms", ctx(), prefix=ENV, min_count=1)
    assert none.status == "fail" and "is monitoring set up" in none.summary
    aws_env.put_alarm(f"{ENV}-5xx", "OK")
    aws_env.put_alarm(f"{ENV}-latency", "INSUFFICIENT_DATA")
    aws_env.put_alarm("other-app-cpu", "ALARM")
    quiet = await run("cloudwatch_alarms", ctx(), prefix=ENV, min_count=2)
    assert quiet.status == "pass", quiet.summary
    assert {a["name"]: a["state"] for a in quiet.evidence["alarms"]} == {
        f"{ENV}-5xx": "OK", f"{ENV}-latency": "INSUFFICIENT_DATA"}
    aws_env.put_alarm(f"{ENV}-5xx", "ALARM")
    firing = await run("cloudwatch_alarms", ctx(), prefix=ENV)
    assert firing.status == "fail" and f"{ENV}-5xx" in firing.summary
    assert firing.evidence["in_alarm"] == [f"{ENV}-5xx"]


async def test_log_errors(aws_env: Any) -> None:
    group = f"/aws/elasticbeanstalk/{ENV}/var/log/web.stdout.log"
    aws_env.put_log_events(group, "i-0abc", ["INFO started", "GET /health 200"])
    clean = await run("log_errors", ctx(), log_group="var/log/web.stdout.log")
    assert clean.status == "pass", clean.summary
    assert clean.evidence["log_group"] == group
    old = int((time.time() - 3600) * 1000)
    aws_env.put_log_events(group, "i-0abc", [(old, "ERROR an hour ago")])
    still_clean = await run("log_errors", ctx(), log_group=group, minutes=15)
    assert still_clean.status == "pass"
    aws_env.put_log_events(group, "i-0def", ["ERROR Internal Server Error: /app/login/"])
    dirty = await run("log_errors", ctx(), log_group=group)
    assert dirty.status == "fail"
    assert dirty.evidence["first"][0]["message"] == "ERROR Internal Server Error: /app/login/"
    assert "Internal Server Error" in dirty.summary
    missing = await run("log_errors", ctx(), log_group="/no/such/group")
    assert missing.status == "error" and "ResourceNotFound" in missing.summary


async def test_eb_health(aws_env: Any, eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV)
    ok = await run("eb_health", ctx())
    assert ok.status == "pass", ok.summary
    assert ok.evidence["enhanced"] is True and ok.evidence["health_status"] == "Ok"
    with eb_stub.lock:
        env.health, env.health_status, env.causes = "Red", "Severe", ["100% of requests fail"]
    bad = await run("eb_health", ctx())
    assert bad.status == "fail"
    assert "Severe" in bad.summary and "100% of requests fail" in bad.summary
    missing = await run("eb_health", ctx(eb_env="no-such-env"))
    assert missing.status == "error" and "not found" in missing.summary


async def test_eb_deployed(aws_env: Any, eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV, version_label="app-v42")
    done = await run("eb_deployed", ctx(version="app-v42"), polls=2, interval=0.01)
    assert done.status == "pass", done.summary
    assert {i["version"] for i in done.evidence["instances"]} == {"app-v42"}
    assert done.evidence["polls_ok"] == 2
    wrong = await run("eb_deployed", ctx(), version="app-v43", polls=1)
    assert wrong.status == "fail" and "expected app-v43" in wrong.summary
    with eb_stub.lock:
        env.instances[1].deployment_status = "Failed"
    failed = await run("eb_deployed", ctx(version="app-v42"), polls=1)
    assert failed.status == "fail" and "deployment failed on" in failed.summary
    empty = await run("eb_deployed", ctx(previous_version=""), version="${previous_version}")
    assert empty.status == "error" and "no target version" in empty.summary


async def test_eb_deployed_during_an_update(aws_env: Any, eb_stub: Any) -> None:
    eb_stub.add_environment(ENV, version_label="app-v41")
    import boto3

    boto3.client("elasticbeanstalk").update_environment(EnvironmentName=ENV,
                                                        VersionLabel="app-v42")
    result = await run("eb_deployed", CheckContext(vars={"eb_env": ENV},
                                                   facts={"target_version": "app-v42"}),
                       polls=1)
    assert result.status == "fail"
    assert "status Updating" in result.summary


async def test_eb_env_vars_presence_and_values_without_secrets(aws_env: Any,
                                                               eb_stub: Any) -> None:
    env = eb_stub.add_environment(ENV)
    ok = await run("eb_env_vars", ctx(), require=["SECRET_KEY", "DB_PASSWORD", "ALLOWED_HOSTS"],
                   equals={"ENVIRONMENT": "production", "USE_HTTPS": True})
    assert ok.status == "pass", ok.summary
    assert ok.evidence["present"] == ["SECRET_KEY", "DB_PASSWORD", "ALLOWED_HOSTS"]
    with eb_stub.lock:
        del env.env_vars["ADMIN_PASSWORD"]
        env.env_vars["USE_HTTPS"] = "false"
    bad = await run("eb_env_vars", ctx(), require=["ADMIN_PASSWORD", "SECRET_KEY"],
                    equals={"USE_HTTPS": "true", "DB_PASSWORD": "guess"})
    assert bad.status == "fail"
    assert "ADMIN_PASSWORD missing" in bad.summary and "USE_HTTPS=false" in bad.summary
    dumped = json.dumps([bad.evidence, bad.summary, ok.evidence, ok.summary])
    for secret in ("eb-Secret-key-5d7e0b2c9a41f3e8b6d0c7a9e2f4b1d3c5a7e9f0b2d4c6a8e",
                   "eb-Secret-dbpass-48c2", "eb-Secret-admin-91fa"):
        assert secret not in dumped


class _HtmlErrorPage:
    """A real HTTP server answering every request with a proxy's 502 HTML page (what an
    operator gets when a load balancer or a wrong endpoint sits where AWS should be)."""

    PAGE = (b"<!doctype html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>502 Bad Gateway</h1><hr><p>nginx</p></body></html>")

    def __enter__(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        page = self.PAGE

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self) -> None:
                self.send_response(502)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            do_GET = do_POST = do_HEAD = do_PUT = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_an_html_error_page_is_named_not_shown(aws_credentials: Any) -> None:
    with _HtmlErrorPage() as endpoint:
        context = ctx(aws_endpoint_url=endpoint)
        for check, params in (("eb_health", {}), ("cloudwatch_alarms", {"prefix": ENV}),
                              ("db_backup", {"bucket": "b"}), ("s3_object", {"bucket": "b"})):
            result = await run(check, context, **params)
            assert result.status == "error", (check, result.summary)
            assert "<" not in result.summary and "b'" not in result.summary, result.summary
            assert "HTTP 502" in result.summary or '"502 Bad Gateway"' in result.summary
    from rsdeploy_tui.aws import plain_message

    assert plain_message(_HtmlErrorPage.PAGE.decode()) == (
        'the endpoint answered with an HTML page ("502 Bad Gateway") instead of an AWS '
        "response (a proxy or load balancer in the way, or a wrong aws_endpoint_url)")


def test_aws_describe_error_names_an_html_page(aws_credentials: Any) -> None:
    """The sentence actions, the log pane and the banner show (rsdeploy_tui.aws.describe_error)."""
    from rsdeploy_tui.aws import client, describe_error

    with _HtmlErrorPage() as endpoint:
        calls = (("elasticbeanstalk", lambda c: c.describe_environments()),
                 ("cloudwatch", lambda c: c.describe_alarms()),
                 ("s3", lambda c: c.list_objects_v2(Bucket="b")))
        for service, call in calls:
            try:
                call(client(service, {"aws_endpoint_url": endpoint}, retries=0))
            except Exception as exc:
                sentence = describe_error(exc)
            else:
                raise AssertionError(f"{service} answered through an HTML error page")
            assert "<" not in sentence and "b'" not in sentence, sentence
            assert "502" in sentence, sentence


async def test_aws_that_never_answers_is_named(aws_credentials: Any) -> None:
    import socket

    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(16)  # accepts, never answers
    endpoint = f"http://127.0.0.1:{frozen.getsockname()[1]}"
    try:
        result = await run("eb_health", ctx(aws_endpoint_url=endpoint), timeout=1)
    finally:
        frozen.close()
    assert result.status == "error"
    assert result.summary == f"AWS ({endpoint}) for the eb_health check did not finish within 1 s"
