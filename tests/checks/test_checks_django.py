"""django_deploy, migrations and Django commands against the fake manage.py (Django's formats)."""

from __future__ import annotations

import os
from typing import Any

from checkrun import run

from rsdeploy_tui.checks.registry import CheckContext


def ctx(manage: Any, tmp_path: Any, **modes: str) -> CheckContext:
    return CheckContext(vars={"manage": manage.command, "app_dir": str(tmp_path)},
                        environ={**os.environ, **manage.env(**modes)})


async def test_django_deploy_clean(fake_manage: Any, tmp_path: Any) -> None:
    result = await run("django_deploy", ctx(fake_manage, tmp_path, mode="clean"))
    assert result.status == "pass", result.summary
    assert result.evidence["command"].endswith("check --deploy --fail-level WARNING")


async def test_django_deploy_findings_by_setting(fake_manage: Any, tmp_path: Any) -> None:
    result = await run("django_deploy", ctx(fake_manage, tmp_path, mode="warnings"))
    assert result.status == "fail"
    settings = {f["setting"] for f in result.evidence["findings"]}
    assert settings == {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
                        "CSRF_COOKIE_SECURE", "DEBUG"}
    debug = next(f for f in result.evidence["findings"] if f["id"] == "security.W018")
    assert debug["finding"] == "DEBUG is True in production"
    assert result.summary.startswith("5 issue(s)")


async def test_django_deploy_only_one_setting(fake_manage: Any, tmp_path: Any) -> None:
    context = ctx(fake_manage, tmp_path, mode="warnings")
    debug = await run("django_deploy", context, only=["DEBUG"])
    assert debug.status == "fail" and "DEBUG is True" in debug.summary
    hosts = await run("django_deploy", context, only=["ALLOWED_HOSTS"])
    assert hosts.status == "pass", hosts.summary
    assert hosts.evidence["other_findings"] == 5
    errors = await run("django_deploy", ctx(fake_manage, tmp_path, mode="errors"),
                       only=["SECURE_REFERRER_POLICY"])
    assert errors.status == "fail" and "invalid Referrer-Policy" in errors.summary


async def test_django_deploy_broken_command_is_an_error(tmp_path: Any) -> None:
    result = await run("django_deploy", CheckContext(vars={"manage": "python3 nowhere.py",
                                                           "app_dir": str(tmp_path)}))
    assert result.status == "error" and "exited 2" in result.summary


async def test_migrations_plan(fake_manage: Any, tmp_path: Any) -> None:
    none = await run("migrations", ctx(fake_manage, tmp_path))
    assert none.status == "pass" and none.summary == "no pending migrations"
    pending = ctx(fake_manage, tmp_path, migrations="pending")
    result = await run("migrations", pending)
    assert result.status == "fail"
    assert result.evidence["pending"] == ["repairs.0012_repair_status",
                                          "repairs.0013_technician_workshop"]
    assert [op["operation"] for op in result.evidence["destructive"]] == [
        "Alter field email on customer"]
    assert "Planned operations:" in result.evidence["plan"]
    allowed = await run("migrations", pending, allow_destructive=True)
    assert allowed.status == "pass" and "1 destructive (allowed)" in allowed.summary


async def test_tests_collectstatic_makemigrations(fake_manage: Any, tmp_path: Any) -> None:
    context = ctx(fake_manage, tmp_path)
    tests = await run("command", context, run="${manage} test", cwd="${app_dir}")
    assert tests.status == "pass" and tests.evidence["tail"][-2] == "OK"
    failing = await run("command", ctx(fake_manage, tmp_path, tests="fail"),
                        run="${manage} test")
    assert failing.status == "fail" and "exit 1" in failing.summary
    static = await run("command", context, run="${manage} collectstatic --noinput --dry-run")
    assert static.status == "pass", static.summary
    changes = await run("command", ctx(fake_manage, tmp_path, model_changes="changes"),
                        run="${manage} makemigrations --check --dry-run")
    assert changes.status == "fail"
