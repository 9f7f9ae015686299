"""``restore_check``: restore this session's dump into a scratch database and compare row counts.

Uses the local dump ``db_backup`` wrote (``backup_path``) when its SHA-256 still matches, else
downloads the S3 object. Creates the scratch database on the same server (``scratch_db``,
default ``rsdeploy_restore_<session>``), restores with pg_restore (custom) or psql (plain),
counts rows per table in both databases, and drops the scratch database whatever happens.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from rsdeploy_tui.actions.common import (
    ActionFailed,
    Context,
    Database,
    file_sha256,
    pg_tool,
    say,
)

_SAFE_NAME = re.compile(r"[^a-z0-9_]+")


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Restore into a scratch database, compare counts; returns (summary, facts)."""
    db = Database.from_env()
    dump = local_dump(ctx)
    fmt = str(ctx.fact("backup_format") or ("plain" if dump.suffix == ".sql" else "custom"))
    default_name = "rsdeploy_restore_" + _SAFE_NAME.sub("_", ctx.session_id.lower())[-30:]
    scratch = ctx.param("scratch_db", default_name)
    if scratch == db.name:
        raise ActionFailed("Refusing to restore", "scratch_db is the production database itself.")
    try:
        return _restore_and_compare(ctx, db, dump, fmt, scratch)
    finally:
        if dump.name.endswith(".part"):  # a copy downloaded for this check only
            dump.unlink(missing_ok=True)


def _restore_and_compare(ctx: Context, db: Database, dump: Path, fmt: str,
                         scratch: str) -> tuple[str, dict[str, Any]]:
    admin = db.connect(ctx.param("maintenance_db", "postgres"))
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
            cur.execute(f'CREATE DATABASE "{scratch}"')
        say(f"restore: scratch database {scratch} created")
        try:
            _restore(db, fmt, dump, scratch)
            source = row_counts(db, db.name)
            restored = row_counts(db, scratch)
        finally:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            say(f"restore: scratch database {scratch} dropped")
    finally:
        admin.close()
    differences = [
        f"{table}: source {source.get(table, 'missing')}, restored {restored.get(table, 'missing')}"
        for table in sorted(set(source) | set(restored))
        if source.get(table) != restored.get(table)
    ]
    total = sum(restored.values())
    facts = {"restore_row_counts": restored, "restore_tables": len(restored),
             "restore_rows": total, "restore_check_ok": not differences}
    for line in differences:
        say(f"differs: {line}")
    if differences:
        raise ActionFailed(
            "Restored row counts differ",
            f"{len(differences)} table(s) differ ({'; '.join(differences[:5])}). If the source "
            "took writes since the backup this is expected; otherwise the backup is incomplete.",
            facts=facts,
        )
    return f"Restored {dump.name} into a scratch database: {len(restored)} tables, {total} rows, " \
           "same counts as the source.", facts


def local_dump(ctx: Context) -> Path:
    """The dump to restore: the local file when it still matches, else an S3 download."""
    path_fact = ctx.fact("backup_path")
    expected = str(ctx.fact("backup_sha256") or "")
    if path_fact and Path(str(path_fact)).is_file():
        path = Path(str(path_fact))
        if not expected or file_sha256(path)[1] == expected:
            return path
        say(f"restore: {path} changed since the backup; downloading the S3 copy")
    key = str(ctx.fact("backup_key") or "")
    if not key:
        raise ActionFailed("No backup to restore",
                           "No backup_path or backup_key fact: run the database backup first.")
    from rsdeploy_tui.actions.verify_backup import download

    bucket = str(ctx.fact("backup_bucket") or ctx.var("backup_bucket"))
    target = ctx.backups_dir() / f"{Path(key).name}.{ctx.spec['run_id']}.part"
    download(ctx, bucket, key, target)
    return target


def _restore(db: Database, fmt: str, dump: Path, scratch: str) -> None:
    """pg_restore / psql into ``scratch``; ActionFailed with the tool's message on error."""
    if fmt == "plain":
        argv = [pg_tool("psql"), *db.args(scratch), "-v", "ON_ERROR_STOP=1", "-q",
                "-f", str(dump)]
    else:
        argv = [pg_tool("pg_restore"), *db.args(scratch), "--no-owner", "--no-acl",
                "--exit-on-error", str(dump)]
    say(f"restore: {Path(argv[0]).name} {dump.name} -> {scratch}")
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=db.child_env())
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()[-1500:]
        raise ActionFailed("Restore failed", f"{Path(argv[0]).name} exited {proc.returncode}: "
                           f"{message or 'no message'}")


def row_counts(db: Database, dbname: str) -> dict[str, int]:
    """Exact rows per table (``schema.table``; ``public.`` left off) outside system schemas."""
    conn = db.connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema') ORDER BY 1, 2"
            )
            tables = cur.fetchall()
            counts = {}
            for schema, table in tables:
                cur.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
                name = table if schema == "public" else f"{schema}.{table}"
                counts[name] = int(cur.fetchone()[0])
    finally:
        conn.close()
    return counts
