"""Django checks against the real Django project (tests/support/rs_django, Django 5.2).

The fake manage.py is no longer used here: every verdict below comes from real Django output.
"""

from __future__ import annotations

from typing import Any

import pytest
from checkrun import run

from rsdeploy_tui.checks.registry import CheckContext
from support.django_real import DESTRUCTIVE_MIGRATION, TEST_COUNT, DjangoProject


def ctx(project: DjangoProject) -> CheckContext:
    return CheckContext(vars=project.vars, environ=project.environ())


async def test_django_deploy_clean_with_production_settings(django_project: DjangoProject) -> None:
    result = await run("django_deploy", ctx(django_project))
    assert result.status == "pass", result.summary
    assert result.evidence["exit_code"] == 0
    assert result.evidence["findings"] == []


async def test_django_deploy_findings_by_setting(make_django_project: Any) -> None:
    project = make_django_project(secure=False, debug=True, migrated="none")
    result = await run("django_deploy", ctx(project))
    assert result.status == "fail"
    settings = {f["setting"] for f in result.evidence["findings"]}
    assert settings == {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
                        "CSRF_COOKIE_SECURE", "DEBUG"}
    debug = next(f for f in result.evidence["findings"] if f["id"] == "security.W018")
    assert debug["finding"] == "DEBUG is True in production"
    assert result.summary.startswith("5 issue(s)")


async def test_django_deploy_only_one_setting(make_django_project: Any) -> None:
    project = make_django_project(secure=False, debug=True, migrated="none")
    debug = await run("django_deploy", ctx(project), only=["DEBUG"])
    assert debug.status == "fail" and "DEBUG is True" in debug.summary
    hosts = await run("django_deploy", ctx(project), only=["ALLOWED_HOSTS"])
    assert hosts.status == "pass", hosts.summary
    assert hosts.evidence["other_findings"] == 5
    project.env["DJANGO_REFERRER_POLICY"] = "not-a-policy"
    errors = await run("django_deploy", ctx(project), only=["SECURE_REFERRER_POLICY"])
    assert errors.status == "fail" and "invalid Referrer-Policy" in errors.summary


async def test_django_deploy_broken_command_is_an_error(tmp_path: Any) -> None:
    result = await run("django_deploy", CheckContext(vars={"manage": "python3 nowhere.py",
                                                           "app_dir": str(tmp_path)}))
    assert result.status == "error" and "exited 2" in result.summary


async def test_migrations_plan_names_the_destructive_migration(
        django_destructive_project: DjangoProject, django_project: DjangoProject) -> None:
    none = await run("migrations", ctx(django_project))
    assert none.status == "pass" and none.summary == "no pending migrations"
    result = await run("migrations", ctx(django_destructive_project))
    assert result.status == "fail"
    assert result.evidence["pending"] == [DESTRUCTIVE_MIGRATION]
    assert result.evidence["destructive"] == [{
        "migration": DESTRUCTIVE_MIGRATION,
        "operation": "Remove field is_manager from technician", "destructive": True}]
    assert DESTRUCTIVE_MIGRATION in result.summary
    allowed = await run("migrations", ctx(django_destructive_project), allow_destructive=True)
    assert allowed.status == "pass" and "1 destructive (allowed)" in allowed.summary


async def test_migrate_check_and_showmigrations(django_destructive_project: DjangoProject,
                                                django_project: DjangoProject) -> None:
    pending = await run("command", ctx(django_destructive_project), run="${manage} migrate --check",
                        cwd="${app_dir}")
    assert pending.status == "fail" and "exit 1" in pending.summary
    applied = await run("command", ctx(django_project), run="${manage} migrate --check",
                        cwd="${app_dir}")
    assert applied.status == "pass", applied.summary
    shown = await run("command", ctx(django_destructive_project),
                      run="${manage} showmigrations repairs",
                      expect_output=r"^ \[ \] 0002_remove_technician_is_manager$")
    assert shown.status == "pass", shown.summary


async def test_makemigrations_collectstatic_dumpdata(make_django_project: Any,
                                                     django_project: DjangoProject) -> None:
    clean = await run("command", ctx(django_project),
                      run="${manage} makemigrations --check --dry-run")
    assert clean.status == "pass" and "No changes detected" in clean.summary
    changed = make_django_project(model_changes=True)
    changes = await run("command", ctx(changed), run="${manage} makemigrations --check --dry-run")
    assert changes.status == "fail" and "exit 1" in changes.summary
    static = await run("command", ctx(django_project),
                       run="${manage} collectstatic --noinput --dry-run",
                       expect_output=r"\d+ static files? copied")
    assert static.status == "pass", static.summary
    assert not (django_project.path / "staticfiles").exists()  # a dry run copies nothing
    dumped = await run("command", ctx(django_project), run="${manage} dumpdata repairs",
                       expect_output=r"^\[\]$")
    assert dumped.status == "pass", dumped.summary


async def test_test_suite_counts_the_tests(django_project: DjangoProject) -> None:
    result = await run("test_suite", ctx(django_project))
    assert result.status == "pass", result.summary
    assert result.evidence["tests_ran"] == TEST_COUNT
    assert result.summary == f"{TEST_COUNT} tests passed"


async def test_zero_tests_is_not_passing(make_django_project: Any) -> None:
    project = make_django_project(tests="none")
    result = await run("test_suite", ctx(project))
    assert result.status == "fail"
    assert result.summary.startswith("no tests ran")
    assert result.evidence["tests_ran"] == 0 and result.evidence["exit_code"] == 0
    lowered = await run("test_suite", ctx(project), min_tests=0)
    assert lowered.status == "pass", lowered.summary


async def test_min_tests_raises_the_bar(django_project: DjangoProject) -> None:
    result = await run("test_suite", ctx(django_project), min_tests=TEST_COUNT + 1)
    assert result.status == "fail"
    assert result.summary == f"only {TEST_COUNT} tests ran, at least {TEST_COUNT + 1} expected"


async def test_failing_test_fails(make_django_project: Any) -> None:
    result = await run("test_suite", ctx(make_django_project(tests="fail")))
    assert result.status == "fail"
    assert result.evidence["failures"] == 1 and result.evidence["tests_ran"] == TEST_COUNT + 1
    assert result.summary.startswith(f"1 of {TEST_COUNT + 1} tests failed")


@pytest.mark.slow
async def test_project_on_postgresql(make_django_project: Any, pg_server: Any) -> None:
    project = make_django_project(database=pg_server, migrated="before_destructive")
    columns = {r[0] for r in project.database.run_sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'repairs_technician'")}
    assert "is_manager" in columns
    result = await run("migrations", ctx(project))
    assert result.status == "fail" and result.evidence["pending"] == [DESTRUCTIVE_MIGRATION]
    suite = await run("test_suite", ctx(project))
    assert suite.status == "pass", suite.summary
