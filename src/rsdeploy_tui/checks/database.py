"""Database checks: postgres (connection), row_counts (no data loss), sql (integrity queries).

psycopg2 blocks, so each query runs in a thread (``asyncio.to_thread``). The connection comes from
a ``dsn`` param, else the ``db_dsn`` var, else DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD.
Sessions are read-only: a check never changes the database.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rsdeploy_tui.checks.reasons import describe_error, one_line
from rsdeploy_tui.checks.registry import (
    CheckContext,
    CheckError,
    CheckResult,
    failed,
    passed,
    skipped,
)

_ENV_KEYS = {"host": "DB_HOST", "port": "DB_PORT", "dbname": "DB_NAME", "user": "DB_USER",
             "password": "DB_PASSWORD"}


def connection_args(ctx: CheckContext, params: dict[str, Any]) -> dict[str, Any]:
    """psycopg2.connect keyword arguments (the password only in memory, never in evidence)."""
    dsn = params.get("dsn") or ctx.var("db_dsn")
    if dsn:
        return {"dsn": str(dsn)}
    args = {key: ctx.environ.get(env) for key, env in _ENV_KEYS.items() if ctx.environ.get(env)}
    if "host" not in args and "dbname" not in args:
        raise CheckError("no database settings: set DB_HOST, DB_PORT, DB_NAME, DB_USER, "
                         "DB_PASSWORD or a dsn")
    return args


def where(args: dict[str, Any]) -> str:
    """``user@host:port/db`` for messages (no password)."""
    if "dsn" in args:
        return "the configured DSN"
    return (f"{args.get('user', '')}@{args.get('host', 'localhost')}:{args.get('port', 5432)}"
            f"/{args.get('dbname', '')}")


def _connect(args: dict[str, Any], timeout: int) -> Any:
    import psycopg2

    try:
        conn = psycopg2.connect(connect_timeout=timeout, application_name="rsdeploy-tui check",
                                **args)
    except psycopg2.Error as exc:
        raise CheckError(f"cannot connect to {where(args)}: "
                         f"{one_line(str(exc).strip()) or describe_error(exc)}") from exc
    conn.set_session(readonly=True, autocommit=True)
    return conn


def _probe(args: dict[str, Any]) -> dict[str, Any]:
    start = time.monotonic()
    conn = _connect(args, 10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
            latency = time.monotonic() - start
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM pg_stat_activity")
            in_use = cur.fetchone()[0]
            cur.execute("SHOW max_connections")
            max_connections = int(cur.fetchone()[0])
    finally:
        conn.close()
    return {"server_version": version, "latency_ms": round(latency * 1000, 1),
            "connections_in_use": in_use, "max_connections": max_connections}


async def check_postgres(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Connect and ``SELECT 1``; evidence: server version, latency, connections in use / max."""
    args = connection_args(ctx, params)
    found = await asyncio.to_thread(_probe, args)
    found["database"] = where(args)
    used = found["connections_in_use"] / max(found["max_connections"], 1)
    if used >= 0.9:
        return failed(f"connection pool nearly exhausted: {found['connections_in_use']} of "
                      f"{found['max_connections']} connections in use", **found)
    return passed(f"connected in {found['latency_ms']:g} ms, PostgreSQL "
                  f"{found['server_version']}, {found['connections_in_use']}/"
                  f"{found['max_connections']} connections", **found)


_COLUMNS = (
    "SELECT CASE WHEN table_schema = 'public' THEN table_name "
    "ELSE table_schema || '.' || table_name END, column_name FROM information_schema.columns "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
    "ORDER BY 1, ordinal_position")


def _count(args: dict[str, Any], tables: list[str]
           ) -> tuple[dict[str, int | None], dict[str, list[str]]]:
    """Row counts of ``tables`` (None: no such table) and their columns, by table."""
    from psycopg2 import errors, sql

    conn = _connect(args, 10)
    counts: dict[str, int | None] = {}
    try:
        with conn.cursor() as cur:
            if tables == ["*"]:
                # Every ordinary table the connecting user can see, outside the system schemas.
                cur.execute("SELECT CASE WHEN table_schema = 'public' THEN table_name "
                            "ELSE table_schema || '.' || table_name END FROM "
                            "information_schema.tables WHERE table_type = 'BASE TABLE' AND "
                            "table_schema NOT IN ('pg_catalog', 'information_schema') "
                            "ORDER BY 1")
                tables = [row[0] for row in cur.fetchall()]
            for table in tables:
                name = sql.Identifier(*table.split(".", 1))
                try:
                    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(name))
                    counts[table] = int(cur.fetchone()[0])
                except errors.UndefinedTable:
                    counts[table] = None
            cur.execute(_COLUMNS)
            schema: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                if counts.get(table) is not None:
                    schema.setdefault(table, []).append(column)
    finally:
        conn.close()
    return counts, schema


def schema_lost(before: dict[str, Any], now: dict[str, list[str]], counts: dict[str, Any],
                every_table: bool) -> list[str]:
    """Tables and columns of the baseline's schema that are gone now, one sentence each."""
    lost: list[str] = []
    for table, columns in sorted(before.items()):
        if not isinstance(columns, list):
            continue
        if table not in now:
            if every_table or table in counts:
                lost.append(f"table {table} gone")
            continue
        present = set(now[table])
        lost += [f"column {table}.{column} gone" for column in columns if column not in present]
    return lost


async def check_row_counts(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Row counts and columns of ``tables``; with ``baseline``, fails on any row decrease and on
    any table or column of the baseline that is gone (no data loss)."""
    tables = [str(t) for t in params["tables"]]
    args = connection_args(ctx, params)
    counts, schema = await asyncio.to_thread(_count, args, tables)
    evidence: dict[str, Any] = {"counts": counts, "schema": schema, "database": where(args)}
    missing = [t for t, n in counts.items() if n is None]
    if missing:
        return failed("table(s) missing: " + ", ".join(missing), **evidence)
    ref = params.get("baseline")
    if not ref:
        total = sum(n or 0 for n in counts.values())
        columns = sum(len(c) for c in schema.values())
        return passed(f"{len(counts)} tables, {total} rows, {columns} columns", **evidence)
    base = ctx.baseline(str(ref))
    if base is None or not isinstance(base.get("counts"), dict):
        return skipped(f"no baseline counts recorded for {ref} in this session", **evidence)
    before = base["counts"]
    evidence.update(baseline=ref, baseline_counts=before)
    lost = [f"{t} {before[t]} -> {n}" for t, n in counts.items()
            if isinstance(before.get(t), int) and n is not None and n < before[t]]
    # With tables: ["*"], a table dropped since the baseline is lost data too.
    if tables == ["*"]:
        lost += [f"{t} {n} -> table gone" for t, n in before.items()
                 if t not in counts and isinstance(n, int) and n > 0]
    before_schema = base.get("schema")
    gone = schema_lost(before_schema, schema, counts, tables == ["*"]) \
        if isinstance(before_schema, dict) else []
    if gone:
        evidence["schema_lost"] = gone
    problems = ([f"rows lost: {'; '.join(lost)}"] if lost else []) + (
        [f"schema lost: {'; '.join(gone)}"] if gone else [])
    if problems:
        return failed(" — ".join(problems), **evidence)
    if not isinstance(before_schema, dict):
        raise CheckError(f"not proven: the baseline of {ref} recorded row counts but no schema, "
                         "so dropped columns cannot be seen; rows did not decrease", **evidence)
    return passed(f"no decrease in {len(counts)} tables and no table or column gone since {ref}",
                  **evidence)


def _query(args: dict[str, Any], query: str) -> tuple[list[str], list[tuple[Any, ...]], int]:
    conn = _connect(args, 10)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            if cur.description is None:
                return [], [], 0
            columns = [c.name for c in cur.description]
            rows = cur.fetchmany(5)
            total = len(rows) + len(cur.fetchmany(10000))
            return columns, rows, total
    finally:
        conn.close()


async def check_sql(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """A read-only query with an expectation: ``expect: none|some`` rows, or ``equals`` a value."""
    import psycopg2

    query = str(params["query"])
    args = connection_args(ctx, params)
    try:
        columns, rows, total = await asyncio.to_thread(_query, args, query)
    except psycopg2.Error as exc:
        raise CheckError(f"query failed: {one_line(str(exc).strip())}", query=query) from exc
    evidence = {"query": query, "columns": columns, "rows": [[str(v) for v in r] for r in rows],
                "row_count": total}
    if "equals" in params:
        want = str(params["equals"])
        got = str(rows[0][0]) if rows and rows[0] else None
        if got != want:
            return failed(f"query returned {got!r}, expected {want!r}", **evidence)
        return passed(f"query returned {want!r}", **evidence)
    expect = str(params.get("expect", "none")).lower()
    if expect not in ("none", "some"):
        raise CheckError(f"expect must be 'none' or 'some', got {expect!r}")
    if expect == "none" and total:
        return failed(f"{total} row(s) found, expected none", **evidence)
    if expect == "some" and not total:
        return failed("no rows, expected some", **evidence)
    return passed(f"{total} row(s), as expected", **evidence)
