"""Tests of the shared test infrastructure in tests/support (the parts other tests stand on)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import free_port, in_ci, need, need_command
from support.aws import AwsEnv
from support.django_app import FakeManage
from support.eb_stub import SUPPORTED_ACTIONS, EbApiStub
from support.postgres import PostgresDatabase, PostgresServer

ENV_NS = "aws:elasticbeanstalk:application:environment"


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("", "skip"), ("0", "skip"), ("false", "skip"), ("no", "skip"),
     ("1", "fail"), ("true", "fail"), ("TRUE", "fail"), ("yes", "fail"), ("Yes", "fail")],
)
def test_missing_real_part_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setenv("CI", ci)
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
    with pytest.raises(expected) as stopped:
        need("tmux", "not on PATH", "apt-get install tmux")
    # The message names the part and how to install it, whichever way the test stops.
    assert "missing real part: tmux (not on PATH); install: apt-get install tmux" in str(
        stopped.value)
    assert in_ci() is (outcome == "fail")


def test_need_command_returns_the_path_or_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert need_command("sh", "apt-get install dash").endswith("/sh")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-xyz"):
        need_command("no-such-tool-xyz", "nothing to install")


# -- PostgreSQL ---------------------------------------------------------------------------------
def test_pg_server_accepts_password_login_over_tcp_only(pg_server: PostgresServer) -> None:
    rows = pg_server.run_sql(
        "SELECT current_user, inet_server_addr()::text, current_setting('fsync')"
    )
    assert rows == [(pg_server.user, "127.0.0.1/32", "off")]
    wrong = dict(pg_server.libpq_env(), PGPASSWORD="wrong-password")
    proc = subprocess.run(
        [pg_server.tool("psql"), "-c", "SELECT 1"],
        env={**os.environ, **wrong},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "password authentication failed" in proc.stderr


def test_pg_db_is_seeded_and_fresh_per_test(pg_db: PostgresDatabase) -> None:
    assert pg_db.row_counts() == {"customers": 240, "repairs": 360, "technicians": 12}
    assert pg_db.seeded_counts == pg_db.row_counts()
    pg_db.run_sql("DELETE FROM repairs WHERE id <= 10")
    assert pg_db.row_counts()["repairs"] == 350
    assert pg_db.env()["DB_NAME"] == pg_db.dbname != "postgres"


def test_pg_db_second_test_sees_untouched_data(pg_db: PostgresDatabase) -> None:
    assert pg_db.row_counts()["repairs"] == 360


def test_pg_dump_and_restore_round_trip(pg_db: PostgresDatabase, tmp_path: Path) -> None:
    dump = tmp_path / "backup.dump"
    env = {**os.environ, **pg_db.libpq_env()}
    subprocess.run([pg_db.tool("pg_dump"), "-Fc", "-f", str(dump)], env=env, check=True, timeout=60)
    listing = subprocess.run(
        [pg_db.tool("pg_restore"), "-l", str(dump)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "TABLE DATA public repairs" in listing
    target = pg_db.create_database()
    try:
        subprocess.run(
            [pg_db.tool("pg_restore"), "-d", target, str(dump)],
            env={**env, "PGDATABASE": target},
            check=True,
            timeout=60,
        )
        assert pg_db.row_counts(target) == pg_db.seeded_counts
    finally:
        pg_db.drop_database(target)


def test_pg_dsn_works_with_psycopg2(pg_server: PostgresServer) -> None:
    import psycopg2

    with psycopg2.connect(pg_server.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT version()")
        assert "PostgreSQL" in cur.fetchone()[0]
    conn.close()


def test_clusters_of_dead_test_runs_are_stopped_and_removed(pg_server: PostgresServer) -> None:
    import socket

    from support.postgres import OWNER_FILE, _Cluster, remove_orphaned_clusters

    orphan = _Cluster(pg_server.bindir)
    orphan.init()
    orphan.start()
    gone_pid = subprocess.Popen(["true"])
    gone_pid.wait()
    (orphan.base / OWNER_FILE).write_text(str(gone_pid.pid))
    remove_orphaned_clusters(pg_server.bindir)
    assert not orphan.base.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", orphan.port), timeout=2):
        pass
    # The live session cluster is untouched.
    assert pg_server.run_sql("SELECT 1") == [(1,)]


# -- moto ---------------------------------------------------------------------------------------
def test_moto_serves_s3_through_environment_endpoint(aws_env: AwsEnv) -> None:
    import boto3

    aws_env.create_bucket("rs-systems-backups-test", {"emergency/db.dump": b"PGDMP"})
    s3 = boto3.client("s3")
    assert s3.meta.endpoint_url == aws_env.endpoint_url
    body = s3.get_object(Bucket="rs-systems-backups-test", Key="emergency/db.dump")["Body"]
    assert body.read() == b"PGDMP"


def test_moto_state_is_reset_between_tests(aws_env: AwsEnv) -> None:
    assert aws_env.client("s3").list_buckets()["Buckets"] == []


def test_cloudwatch_alarm_and_log_seeding(aws_env: AwsEnv) -> None:
    aws_env.put_alarm("rs-prod-5xx", "ALARM")
    aws_env.put_alarm("rs-prod-latency", "OK")
    states = {
        a["AlarmName"]: a["StateValue"]
        for a in aws_env.client("cloudwatch").describe_alarms()["MetricAlarms"]
    }
    assert states == {"rs-prod-5xx": "ALARM", "rs-prod-latency": "OK"}
    group = "/aws/elasticbeanstalk/rs-systems-prod/var/log/web.stdout.log"
    aws_env.put_log_events(group, "i-0a1", ["GET /health 200", "POST /repairs 500"])
    events = aws_env.client("logs").filter_log_events(logGroupName=group)["events"]
    assert [e["message"] for e in events] == ["GET /health 200", "POST /repairs 500"]


def test_moto_eb_environment_has_version_label(aws_env: AwsEnv) -> None:
    aws_env.create_eb_environment("rs-systems", "rs-systems-prod", version_label="app-v41")
    envs = aws_env.client("elasticbeanstalk").describe_environments(
        EnvironmentNames=["rs-systems-prod"]
    )["Environments"]
    assert [(e["VersionLabel"], e["Status"], e["Health"]) for e in envs] == [
        ("app-v41", "Ready", "Green")
    ]


def test_aws_env_hides_developer_configuration(aws_env: AwsEnv) -> None:
    env = aws_env.env()
    assert env["AWS_ENDPOINT_URL"] == aws_env.endpoint_url
    assert "AWS_PROFILE" not in env
    assert not Path(env["AWS_SHARED_CREDENTIALS_FILE"]).exists()


# -- EB stub ------------------------------------------------------------------------------------
def _eb(stub: EbApiStub) -> object:
    import boto3

    return boto3.client("elasticbeanstalk", endpoint_url=stub.url, region_name="us-east-1")


def test_eb_stub_answers_every_call_through_boto3(eb_stub: EbApiStub) -> None:
    env = eb_stub.add_environment("rs-systems-prod", version_label="app-v41")
    eb = _eb(eb_stub)
    described = eb.describe_environments(EnvironmentNames=["rs-systems-prod"])["Environments"]
    assert [(d["VersionLabel"], d["Status"], d["Health"]) for d in described] == [
        ("app-v41", "Ready", "Green")
    ]
    health = eb.describe_environment_health(
        EnvironmentName="rs-systems-prod", AttributeNames=["All"]
    )
    assert (health["HealthStatus"], health["Color"], health["InstancesHealth"]["Ok"]) == (
        "Ok",
        "Green",
        2,
    )
    inst = eb.describe_instances_health(EnvironmentName="rs-systems-prod", AttributeNames=["All"])[
        "InstanceHealthList"
    ]
    assert [i["Deployment"]["VersionLabel"] for i in inst] == ["app-v41", "app-v41"]
    events = eb.describe_events(EnvironmentName="rs-systems-prod")["Events"]
    assert events[0]["Message"] == "Environment update completed successfully."
    settings = eb.describe_configuration_settings(
        ApplicationName="rs-systems", EnvironmentName="rs-systems-prod"
    )["ConfigurationSettings"][0]["OptionSettings"]
    by_key = {(s["Namespace"], s["OptionName"]): s["Value"] for s in settings}
    assert by_key[(ENV_NS, "ENVIRONMENT")] == "production"
    assert by_key[("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs")] == "true"
    updated = eb.update_environment(EnvironmentName="rs-systems-prod", VersionLabel="app-v42")
    assert (updated["Status"], updated["AbortableOperationInProgress"]) == ("Updating", True)
    eb.abort_environment_update(EnvironmentName="rs-systems-prod")
    assert (env.status, env.version_label, env.history[-1].outcome) == (
        "Ready",
        "app-v41",
        "aborted",
    )
    platform = eb.describe_platform_version(PlatformArn=described[0]["PlatformArn"])
    assert platform["PlatformDescription"]["PlatformStatus"] == "Ready"
    assert {c.action for c in eb_stub.calls} == set(SUPPORTED_ACTIONS)


def test_eb_stub_attribute_names_limit_the_answer(eb_stub: EbApiStub) -> None:
    eb_stub.add_environment("rs-systems-prod")
    health = _eb(eb_stub).describe_environment_health(
        EnvironmentName="rs-systems-prod", AttributeNames=["Color"]
    )
    assert "Color" in health and "ApplicationMetrics" not in health


def test_eb_stub_update_finishes_after_polls_and_applies_settings(eb_stub: EbApiStub) -> None:
    env = eb_stub.add_environment("rs-systems-prod", update_polls=2)
    eb = _eb(eb_stub)
    eb.update_environment(
        EnvironmentName="rs-systems-prod",
        VersionLabel="app-v42",
        OptionSettings=[{"Namespace": ENV_NS, "OptionName": "MAINTENANCE_MODE", "Value": "true"}],
    )
    statuses = [
        eb.describe_environments(EnvironmentNames=["rs-systems-prod"])["Environments"][0]["Status"]
        for _ in range(3)
    ]
    assert statuses == ["Updating", "Ready", "Ready"]
    assert env.version_label == "app-v42" and env.env_vars["MAINTENANCE_MODE"] == "true"
    inst = eb.describe_instances_health(
        EnvironmentName="rs-systems-prod", AttributeNames=["Deployment"]
    )["InstanceHealthList"]
    assert {i["Deployment"]["VersionLabel"] for i in inst} == {"app-v42"}


def test_eb_stub_failed_deployment_is_red_with_error_events(eb_stub: EbApiStub) -> None:
    env = eb_stub.add_environment("rs-systems-prod")
    eb = _eb(eb_stub)
    eb.update_environment(EnvironmentName="rs-systems-prod", VersionLabel="app-v42")
    with eb_stub.lock:
        env.finish_update(success=False)
    desc = eb.describe_environments()["Environments"][0]
    assert (desc["Health"], desc["VersionLabel"]) == ("Red", "app-v41")
    errors = eb.describe_events(EnvironmentName="rs-systems-prod", Severity="ERROR")["Events"]
    assert errors[0]["Message"] == "Failed to deploy application."


def test_eb_stub_events_filter_by_start_time_and_page(eb_stub: EbApiStub) -> None:
    env = eb_stub.add_environment("rs-systems-prod", events=[])
    base = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    for i in range(5):
        env.add_event(f"event {i}", when=base + dt.timedelta(minutes=i))
    eb = _eb(eb_stub)
    recent = eb.describe_events(
        EnvironmentName="rs-systems-prod", StartTime=base + dt.timedelta(minutes=3)
    )["Events"]
    assert [e["Message"] for e in recent] == ["event 4", "event 3"]
    pages = eb.get_paginator("describe_events").paginate(
        EnvironmentName="rs-systems-prod", PaginationConfig={"PageSize": 2}
    )
    assert [len(p["Events"]) for p in pages] == [2, 2, 1]


def test_eb_stub_errors_reach_boto3_as_client_errors(eb_stub: EbApiStub) -> None:
    from botocore.exceptions import ClientError

    eb_stub.add_environment("rs-systems-prod")
    eb = _eb(eb_stub)
    with pytest.raises(ClientError) as missing:
        eb.describe_environment_health(EnvironmentName="rs-nope", AttributeNames=["All"])
    assert missing.value.response["Error"]["Code"] == "InvalidRequestException"
    # A non-retryable code: botocore would silently retry Throttling / 5xx.
    eb_stub.fail(
        "DescribeEnvironments",
        code="InsufficientPrivilegesException",
        message="User is not authorized",
        status=403,
    )
    with pytest.raises(ClientError) as denied:
        eb.describe_environments()
    assert denied.value.response["Error"]["Code"] == "InsufficientPrivilegesException"
    assert eb.describe_environments()["Environments"]  # one failure only


def test_per_service_endpoint_sends_eb_to_stub_and_rest_to_moto(
    aws_env: AwsEnv, eb_stub: EbApiStub
) -> None:
    import boto3

    eb_stub.add_environment("rs-systems-prod", version_label="from-stub")
    aws_env.create_bucket("rs-systems-backups-test")
    # Clients built only from the environment, as the app builds them.
    eb = boto3.client("elasticbeanstalk")
    assert eb.meta.endpoint_url == eb_stub.url
    assert boto3.client("s3").meta.endpoint_url == aws_env.endpoint_url
    assert eb.describe_environments()["Environments"][0]["VersionLabel"] == "from-stub"
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == [
        "rs-systems-backups-test"
    ]


def test_per_service_endpoint_reaches_a_subprocess(aws_env: AwsEnv, eb_stub: EbApiStub) -> None:
    eb_stub.add_environment("rs-systems-prod", version_label="from-stub")
    code = (
        "import boto3;"
        "print(boto3.client('elasticbeanstalk').describe_environments()"
        "['Environments'][0]['VersionLabel'])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "from-stub"


# -- fake manage.py -----------------------------------------------------------------------------
def test_fake_manage_check_deploy_levels(fake_manage: FakeManage) -> None:
    clean = fake_manage.run("check", "--deploy", "--fail-level", "WARNING")
    assert (clean.returncode, clean.stdout) == (
        0,
        "System check identified no issues (0 silenced).\n",
    )
    warned = fake_manage.run("check", "--deploy", mode="warnings")
    assert warned.returncode == 0  # default fail level is ERROR
    assert "?: (security.W004)" in warned.stderr
    assert warned.stderr.rstrip().endswith("System check identified 5 issues (0 silenced).")
    gated = fake_manage.run("check", "--deploy", "--fail-level", "WARNING", mode="warnings")
    assert gated.returncode == 1 and gated.stderr.startswith("SystemCheckError:")
    errors = fake_manage.run("check", "--deploy", mode="errors")
    assert errors.returncode == 1 and "ERRORS:\n?: (security.E023)" in errors.stderr


def test_fake_manage_migrations_are_stateful(fake_manage: FakeManage, tmp_path: Path) -> None:
    modes = {"migrations": "pending", "state_file": tmp_path / "state.json"}
    plan = fake_manage.run("migrate", "--plan", **modes).stdout
    assert plan.startswith(
        "Planned operations:\nrepairs.0012_repair_status\n    Add field status to repair\n"
    )
    applied = fake_manage.run("migrate", "--noinput", **modes).stdout
    assert "  Applying repairs.0013_technician_workshop... OK" in applied
    after = fake_manage.run("migrate", "--plan", **modes).stdout
    assert after == "Planned operations:\n  No planned migration operations.\n"
    assert " [X] 0012_repair_status" in fake_manage.run("showmigrations", **modes).stdout


def test_fake_manage_other_commands(fake_manage: FakeManage, tmp_path: Path) -> None:
    assert fake_manage.run("test").returncode == 0
    failing = fake_manage.run("test", tests="fail")
    assert failing.returncode == 1 and "FAILED (failures=1)" in failing.stderr
    assert fake_manage.run("makemigrations", "--check").stdout == "No changes detected\n"
    assert fake_manage.run("makemigrations", "--check", model_changes="changes").returncode == 1
    static = fake_manage.run("collectstatic", "--noinput", "--dry-run").stdout
    assert "Pretending to copy" in static and "static files copied to" in static
    dumped = json.loads(fake_manage.run("dumpdata").stdout)
    assert {r["model"] for r in dumped} >= {"repairs.repair", "repairs.customer"}
    log = tmp_path / "calls.jsonl"
    fake_manage.run("check", "--deploy", log_file=log)
    assert json.loads(log.read_text()) == ["check", "--deploy"]


def test_fake_manage_runs_from_a_shell_command(fake_manage: FakeManage) -> None:
    proc = subprocess.run(
        f"{fake_manage.command} migrate --plan",
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "No planned migration operations." in proc.stdout
    direct = subprocess.run(
        [str(fake_manage.path), "showmigrations"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert direct.stdout.startswith("admin\n [X] 0001_initial\n")


def test_eb_stub_update_events_carry_the_request_id(eb_stub: EbApiStub) -> None:
    """`eb deploy` follows DescribeEvents(RequestId=<its UpdateEnvironment's>) only."""
    eb_stub.add_environment("rs-systems-prod", update_polls=0)
    eb = _eb(eb_stub)
    request_id = eb.update_environment(EnvironmentName="rs-systems-prod",
                                       VersionLabel="app-v42")["ResponseMetadata"]["RequestId"]
    mine = eb.describe_events(EnvironmentName="rs-systems-prod", RequestId=request_id)["Events"]
    assert mine[0]["Message"] == "Environment update completed successfully."
    assert {e["RequestId"] for e in mine} == {request_id}
    everything = eb.describe_events(EnvironmentName="rs-systems-prod")["Events"]
    assert len(everything) > len(mine)  # the environment's older events have no request id
