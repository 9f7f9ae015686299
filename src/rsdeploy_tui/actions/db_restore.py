"""``db_restore``: put this session's database backup back into the production database.

The rollback's database step, run from this host like ``db_backup`` (DB_HOST/PORT/NAME/USER and
the password as PGPASSWORD only). Nothing is ever lost on the way:

1. the dump to restore is this session's (``backup_path`` while its SHA-256 still matches, else
   the S3 object ``backup_key``, downloaded and checked);
2. the database as it is now is dumped first (custom format, ``backups/before-restore-...``), so
   the writes made since the backup can still be looked at or put back;
3. the restore runs in ONE transaction (``psql --single-transaction`` that first drops and
   recreates the ``public`` schema, then runs the dump; a custom dump is turned into SQL by
   ``pg_restore -f -``): it either completes or changes nothing. When it waits longer than
   ``lock_timeout_s`` (30) for a lock the application holds, it is stopped, and the message
   names who held the lock (turn maintenance mode on first).

Row counts per table after the restore are logged and recorded as facts.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsdeploy_tui.actions.common import ActionFailed, Context, Database, human_bytes, pg_tool, say
from rsdeploy_tui.actions.db_backup import check_space, dump, keep_free_bytes
from rsdeploy_tui.actions.restore_check import local_dump, row_counts

LOCK_TIMEOUT_S = 30
"""Longest the restore waits for a table lock held by someone else (then it fails, unchanged)."""


def safety_dump_path(ctx: Context) -> Path:
    """Where the database as it was before the restore is kept."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return ctx.backups_dir() / f"before-restore-{stamp}-{ctx.spec['run_id']}.dump"


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Safety dump, restore in one transaction, count rows; returns (summary, facts)."""
    db = Database.from_env()
    source = local_dump(ctx)
    fmt = str(ctx.fact("backup_format") or ("plain" if source.suffix == ".sql" else "custom"))
    shown = str(ctx.fact("backup_file") or source.name)
    facts: dict[str, Any] = {"db_restore_source": str(ctx.fact("backup_uri") or shown)}
    try:
        safety = safety_dump_path(ctx)
        keep_free = keep_free_bytes(ctx)
        check_space(db, safety.parent, keep_free)
        size, sha256 = dump(db, "custom", safety, ctx, keep_free=keep_free)
        facts.update(db_restore_safety_dump=str(safety), db_restore_safety_sha256=sha256)
        say(f"restore: the database as it is now is kept in {safety} ({human_bytes(size)})")
        try:
            restore(db, fmt, source, ctx.param("lock_timeout_s", str(LOCK_TIMEOUT_S)))
        except ActionFailed as exc:
            raise ActionFailed(exc.title, f"{exc.message} (The data as it is now was saved to "
                               f"{safety} first.)", facts=facts) from None
    finally:
        if source.name.endswith(".part"):  # a copy downloaded for this restore only
            source.unlink(missing_ok=True)
    counts = row_counts(db, db.name)
    for table, rows in sorted(counts.items()):
        say(f"restored: {table} {rows} rows")
    facts.update(db_restore_row_counts=counts, db_restored_at=datetime.now(UTC).isoformat(
        timespec="seconds"), db_restored_database=db.name)
    return (f"Restored {db.name} from {shown} ({len(counts)} tables, {sum(counts.values())} "
            f"rows). The data as it was before the restore is kept in {safety}."), facts


def restore(db: Database, fmt: str, source: Path, lock_timeout_s: str) -> None:
    """Restore ``source`` into the database in one transaction; ActionFailed (nothing changed)
    with the tool's message when it fails.

    Both formats go through psql in a single transaction that first empties the ``public``
    schema (a custom dump is turned into SQL by ``pg_restore -f -``): tables the failed
    deployment added go too, and any error rolls everything back.
    """
    try:
        timeout = max(1.0, float(lock_timeout_s))
    except ValueError:
        raise ActionFailed(
            "Bad lock_timeout_s", f"lock_timeout_s '{lock_timeout_s}' is not a number of seconds.",
        ) from None
    app_name = f"rsdeploy-restore-{os.getpid()}"
    env = {**db.child_env(), "PGAPPNAME": app_name}
    psql = [pg_tool("psql"), *db.args(), "-v", "ON_ERROR_STOP=1", "-q", "--single-transaction",
            "-c", "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"]
    say(f"restore: {source.name} -> {db.name} (one transaction; gives up after {timeout:g} s "
        "waiting for another session's lock)")
    # pg_restore's messages go to a file: a pipe nobody reads while psql runs could fill up
    # and stall both.
    with tempfile.TemporaryFile() as feeder_err:
        if fmt == "plain":
            feeder = None
            proc = subprocess.Popen([*psql, "-f", str(source)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        else:
            feeder = subprocess.Popen([pg_tool("pg_restore"), "--no-owner", "--no-acl", "-f",
                                       "-", str(source)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=feeder_err, env=env)
            proc = subprocess.Popen([*psql, "-f", "-"], stdin=feeder.stdout,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            assert feeder.stdout is not None
            feeder.stdout.close()  # psql holds it now
        watch = LockWatch(db, app_name, timeout)
        watch.start()
        try:
            _, err = proc.communicate()
        finally:
            watch.stop()
            if feeder is not None:
                feeder.wait()
        feeder_err.seek(0)
        feeder_message = feeder_err.read().decode("utf-8", "replace").strip()[-800:]
    if proc.returncode != 0 or (feeder is not None and feeder.returncode != 0):
        message = err.decode("utf-8", "replace").strip()[-1500:]
        if feeder is not None and feeder.returncode:
            message = feeder_message or message
        if watch.blockers:
            message = (f"it waited {timeout:g} s for a lock held by {'; '.join(watch.blockers)} "
                       "and was stopped. Turn maintenance mode on (or stop that session) and "
                       "run the item again")
        raise ActionFailed("Restore failed: the database is unchanged",
                           f"{message or 'psql exited ' + str(proc.returncode)}.")


class LockWatch(threading.Thread):
    """Cancels the restore when it waits on another session's lock for longer than ``timeout``.

    A dump sets ``lock_timeout = 0`` at its top, so the server's own timeout cannot be used: this
    thread watches the restore's backend (by its application_name) in ``pg_stat_activity``.
    """

    def __init__(self, db: Database, app_name: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.app_name = app_name
        self.timeout = timeout
        self.blockers: list[str] = []
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=10)

    def run(self) -> None:
        try:
            conn = self.db.connect()
        except ActionFailed:
            return  # the restore will say why it cannot connect
        waiting_since: float | None = None
        try:
            with conn.cursor() as cur:
                while not self._done.wait(0.25):
                    cur.execute("SELECT pid, wait_event_type FROM pg_stat_activity "
                                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                                (self.app_name,))
                    waiting = [pid for pid, kind in cur.fetchall() if kind == "Lock"]
                    if not waiting:
                        waiting_since = None
                        continue
                    waiting_since = waiting_since or time.monotonic()
                    if time.monotonic() - waiting_since >= self.timeout:
                        self._cancel(cur, waiting[0])
                        return
        finally:
            conn.close()

    def _cancel(self, cur: Any, pid: int) -> None:
        cur.execute(
            "SELECT b.pid, b.usename, b.application_name, b.client_addr, b.state, "
            "left(b.query, 80) FROM pg_stat_activity b "
            "WHERE b.pid = ANY(pg_blocking_pids(%s))", (pid,))
        for bpid, user, app, addr, state, query in cur.fetchall():
            self.blockers.append(f"pid {bpid} ({user}@{addr or 'local'}, {app or 'no name'}, "
                                 f"{state}: {query!r})")
        say(f"restore: waited {self.timeout:g} s for a lock: stopping it "
            f"(blocked by {', '.join(self.blockers) or 'another session'})")
        cur.execute("SELECT pg_cancel_backend(%s)", (pid,))
