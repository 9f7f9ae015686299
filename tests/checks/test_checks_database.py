"""postgres, row_counts and sql against a throwaway PostgreSQL cluster."""

from __future__ import annotations

import json
import re
from typing import Any

from checkrun import run

from rsdeploy_tui.checks.registry import CheckContext

SECRETS = ("DB_PASSWORD",)


def ctx(pg: Any, **environ: str) -> CheckContext:
    return CheckContext(environ={**pg.env(), **environ}, secrets=SECRETS)


async def test_postgres_connects_with_db_env(pg_db: Any) -> None:
    result = await run("postgres", ctx(pg_db))
    assert result.status == "pass", result.summary
    # Any supported PostgreSQL: a version number, and the one this server reports.
    version = result.evidence["server_version"]
    assert re.match(r"^\d+(\.\d+)?\b", version), version
    assert version == pg_db.run_sql("SHOW server_version")[0][0]
    assert result.evidence["max_connections"] > 0
    assert result.evidence["connections_in_use"] >= 1
    assert pg_db.password not in json.dumps(result.evidence) + result.summary


async def test_postgres_wrong_password_and_nothing_configured(pg_db: Any) -> None:
    bad = await run("postgres", ctx(pg_db, DB_PASSWORD="wrong-password-123"))
    assert bad.status == "error"
    assert "cannot connect" in bad.summary and "password authentication failed" in bad.summary
    assert "wrong-password-123" not in bad.summary
    nothing = await run("postgres", CheckContext(environ={}))
    assert nothing.status == "error" and "DB_HOST" in nothing.summary


async def test_postgres_dsn_param(pg_db: Any) -> None:
    result = await run("postgres", CheckContext(environ={}), dsn=pg_db.dsn())
    assert result.status == "pass", result.summary


async def test_row_counts_baseline_then_data_loss(pg_db: Any) -> None:
    context = ctx(pg_db)
    before = await run("row_counts", context, tables=["*"])
    assert before.status == "pass", before.summary
    assert before.evidence["counts"] == pg_db.seeded_counts
    context.results["deploy.pre-migration-backup"] = before
    same = await run("row_counts", context, tables=["*"], baseline="pre-migration-backup")
    assert same.status == "pass", same.summary
    pg_db.run_sql("INSERT INTO technicians (name, workshop) VALUES ('new', 'north')")
    grown = await run("row_counts", context, tables=["technicians", "customers"],
                      baseline="deploy.pre-migration-backup")
    assert grown.status == "pass"
    pg_db.run_sql("DELETE FROM repairs WHERE id % 2 = 0")
    pg_db.run_sql("DROP TABLE customers CASCADE")
    lost = await run("row_counts", context, tables=["*"], baseline="pre-migration-backup")
    assert lost.status == "fail"
    assert "repairs 360 -> 180" in lost.summary
    assert "customers 240 -> table gone" in lost.summary
    missing = await run("row_counts", context, tables=["customers"])
    assert missing.status == "fail" and "table(s) missing: customers" in missing.summary
    no_base = await run("row_counts", context, tables=["repairs"], baseline="nowhere")
    assert no_base.status == "skipped"


async def test_sql_expectations(pg_db: Any) -> None:
    context = ctx(pg_db)
    orphans = ("SELECT r.id FROM repairs r LEFT JOIN technicians t ON t.id = r.technician_id "
               "WHERE r.technician_id IS NOT NULL AND t.id IS NULL")
    none = await run("sql", context, query=orphans)
    assert none.status == "pass", none.summary
    some = await run("sql", context, query="SELECT id FROM customers", expect="none")
    assert some.status == "fail" and "240 row(s) found" in some.summary
    assert len(some.evidence["rows"]) == 5
    equals = await run("sql", context, query="SELECT count(*) FROM technicians", equals=12)
    assert equals.status == "pass", equals.summary
    differs = await run("sql", context, query="SELECT count(*) FROM technicians", equals=13)
    assert differs.status == "fail" and "'12', expected '13'" in differs.summary
    broken = await run("sql", context, query="SELECT * FROM nowhere")
    assert broken.status == "error" and "query failed" in broken.summary


async def test_sql_is_read_only(pg_db: Any) -> None:
    result = await run("sql", ctx(pg_db), query="DELETE FROM repairs RETURNING id")
    assert result.status == "error" and "read-only" in result.summary
    assert pg_db.run_sql("SELECT count(*) FROM repairs")[0][0] == 360


async def test_a_dropped_column_is_data_loss(pg_db: Any) -> None:
    context = ctx(pg_db)
    before = await run("row_counts", context, tables=["*"])
    assert "workshop" in before.evidence["schema"]["technicians"]
    context.results["deploy.pre-migration-backup"] = before
    pg_db.run_sql("ALTER TABLE technicians DROP COLUMN workshop")
    pg_db.run_sql("CREATE TABLE invoices (id int)")  # new tables and columns are fine
    after = await run("row_counts", context, tables=["*"], baseline="pre-migration-backup")
    assert after.status == "fail"
    assert after.summary == "schema lost: column technicians.workshop gone"
    assert after.evidence["schema_lost"] == ["column technicians.workshop gone"]


async def test_an_empty_table_dropped_is_schema_loss(pg_db: Any) -> None:
    pg_db.run_sql("CREATE TABLE audit_log (id int, note text)")
    context = ctx(pg_db)
    context.results["deploy.pre-migration-backup"] = await run("row_counts", context,
                                                               tables=["*"])
    pg_db.run_sql("DROP TABLE audit_log")
    after = await run("row_counts", context, tables=["*"], baseline="pre-migration-backup")
    assert after.status == "fail" and after.summary == "schema lost: table audit_log gone"


async def test_a_baseline_without_schema_is_not_proof(pg_db: Any) -> None:
    context = ctx(pg_db)
    context.results["deploy.pre-migration-backup"] = {
        "evidence": {"counts": dict(pg_db.seeded_counts)}}
    result = await run("row_counts", context, tables=["*"], baseline="pre-migration-backup")
    assert result.status == "error" and result.summary.startswith("not proven")


async def test_the_real_destructive_migration_is_caught(make_django_project: Any,
                                                        pg_server: Any) -> None:
    """The bundled "No data loss" item after Django's migration dropped is_manager."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.checks.registry import run_check

    project = make_django_project(database=pg_server, migrated="before_destructive")
    project.database.run_sql("INSERT INTO repairs_technician (name, workshop, is_manager) "
                             "VALUES ('Bo', 'main', true)")
    checklist = load_checklist()
    context = CheckContext(environ=project.environ(), secrets=SECRETS)
    baseline = await run_check(checklist.item("deploy.pre-migration-backup"), context)
    assert baseline.status == "pass", baseline.summary
    context.results["deploy.pre-migration-backup"] = baseline
    project.migrate()
    result = await run_check(checklist.item("post.no-data-loss"), context)
    assert result.status == "fail", result.summary
    assert "column repairs_technician.is_manager gone" in result.summary
