"""``db_backup``: pg_dump of the configured database to the session directory, then to S3.

The dump streams through this process in 1 MiB chunks: written to ``backups/<name>.part`` and
hashed (SHA-256) on the way, renamed when pg_dump succeeds, then uploaded with boto3 (multipart
above 16 MiB, S3-side SHA-256 checksum). The password reaches pg_dump only as PGPASSWORD in its
environment, never on a command line.

The disk is watched: the database's size is said before the dump starts, and the dump is stopped
(and its partial file deleted) before it leaves less than ``keep_free_mb`` (default 256 MiB)
free, so a full disk never takes the session journal, or the host, down with it.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rsdeploy_tui.actions.common import (
    CHUNK,
    ActionFailed,
    Context,
    Database,
    HashingWriter,
    Ticker,
    aws_error,
    aws_exceptions,
    die_with_parent,
    dump_name,
    human_bytes,
    pg_tool,
    s3_client,
    say,
)

FORMATS = {"custom": "custom", "plain": "plain"}
PART_SIZE = 16 * 1024 * 1024
"""Multipart threshold and part size: few parts, bounded memory (parts x concurrency)."""
CONCURRENCY = 4
KEEP_FREE_MB = 256
"""Free space (MiB) a dump never eats into: the session journal and the host need it."""


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Dump, hash, upload; returns (summary, facts)."""
    fmt = ctx.param("format", "custom")
    if fmt not in FORMATS:
        raise ActionFailed("Bad backup format", f"format '{fmt}' is not 'custom' or 'plain'.")
    db = Database.from_env()
    final = ctx.backups_dir() / dump_name(ctx.spec)
    keep_free = keep_free_bytes(ctx)
    check_space(db, final.parent, keep_free)
    size, sha256 = dump(db, fmt, final, ctx, keep_free=keep_free)
    facts: dict[str, Any] = {
        "backup_format": fmt,
        "backup_size": size,
        "backup_sha256": sha256,
        "backup_path": str(final),
        "backup_file": final.name,
        "backup_database": db.name,
        "backup_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    upload = ctx.params.get("upload", True)
    if upload is False or str(upload).lower() in ("false", "no", "0"):
        return f"Dumped {db.name} to {final} ({human_bytes(size)}); upload skipped.", facts
    bucket, prefix = ctx.bucket_and_prefix()
    key = f"{prefix}/{final.name}"
    try:
        upload_file(ctx, final, bucket, key, size, sha256)
    except ActionFailed as exc:
        # The local dump is good: record it, and say it is only local.
        raise ActionFailed(exc.title, f"{exc.message} The dump is kept locally: {final}.",
                           facts=facts) from None
    facts.update(backup_bucket=bucket, backup_key=key, backup_uri=f"s3://{bucket}/{key}")
    return (f"Backed up {db.name} ({fmt}, {human_bytes(size)}, sha256 {sha256[:12]}...) to "
            f"s3://{bucket}/{key}"), facts


def keep_free_bytes(ctx: Context) -> int:
    """The ``keep_free_mb`` parameter in bytes (default ``KEEP_FREE_MB``)."""
    raw = ctx.param("keep_free_mb", str(KEEP_FREE_MB))
    try:
        mib = float(raw)
    except ValueError:
        raise ActionFailed("Bad keep_free_mb",
                           f"keep_free_mb '{raw}' is not a number of MiB.") from None
    return max(0, int(mib * 1024 * 1024))


def database_size(db: Database) -> int | None:
    """``pg_database_size`` of the database, or None when it cannot be asked (pg_dump will say
    why it cannot connect; the size is only for the operator's information)."""
    import psycopg2

    try:
        conn = db.connect()
    except ActionFailed:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            row = cur.fetchone()
        return int(row[0]) if row else None
    except psycopg2.Error:  # no privilege, say: the size stays unknown (said in the log)
        return None
    finally:
        conn.close()


def check_space(db: Database, folder: Path, keep_free: int) -> None:
    """Say how big the database is beside the free space; refuse to start on a full disk."""
    free = shutil.disk_usage(folder).free
    size = database_size(db)
    known = (f"{db.name} is {human_bytes(size)}" if size is not None
             else f"size of {db.name} unknown")
    say(f"disk: {human_bytes(free)} free in {folder}; {known}")
    if free <= keep_free:
        raise ActionFailed(
            "Not enough disk space",
            f"Only {human_bytes(free)} is free on the disk holding {folder}, and the dump "
            f"keeps {human_bytes(keep_free)} free for the session journal and the host. Free "
            "some space there and run the item again.",
        )
    if size is not None and free - keep_free < size:
        say(f"disk: the dump may not fit ({human_bytes(free - keep_free)} usable, database "
            f"{human_bytes(size)}; a custom-format dump is usually much smaller). It stops "
            "before the disk fills.")


def dump(db: Database, fmt: str, final: Path, ctx: Context,
         keep_free: int = KEEP_FREE_MB * 1024 * 1024) -> tuple[int, str]:
    """Run pg_dump into ``final`` (via ``.part``); returns (size, sha256 hex).

    Stops pg_dump, and deletes the partial file, before the disk has less than ``keep_free``
    bytes free (or when it is full all the same).
    """
    part = final.with_name(final.name + ".part")
    argv = [pg_tool("pg_dump"), f"--format={fmt}", *db.args()]
    say(f"pg_dump ({fmt}) of {db.name} on {db.host}:{db.port} -> {part}")
    writer = HashingWriter(part)
    ctx.files.append(str(part))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            env=db.child_env(), preexec_fn=die_with_parent)
    reader = cast(io.BufferedReader, proc.stdout)  # read1: whatever is there, up to CHUNK
    ticker = Ticker()
    short: int | None = None  # free bytes when the dump was stopped for space
    try:
        while chunk := reader.read1(CHUNK):
            free = shutil.disk_usage(part.parent).free  # a statvfs: cheap beside 1 MiB
            if free - len(chunk) < keep_free:
                short = free
                break
            try:
                writer.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                short = shutil.disk_usage(part.parent).free
                break
            if ticker.due():
                say(f"pg_dump: {human_bytes(writer.size)} written ({ticker.rate(writer.size)})")
        code = proc.wait() if short is None else None
    finally:
        if proc.poll() is None:  # cancelled, failed or out of space: do not leave pg_dump behind
            proc.terminate()
            proc.wait()
        writer.close(sync=short is None and proc.returncode == 0)
    if short is not None:
        written = writer.size
        part.unlink(missing_ok=True)  # give the space back: the journal needs it
        ctx.files.pop()
        raise ActionFailed(
            "Disk nearly full: backup stopped",
            f"pg_dump was stopped at {human_bytes(written)}: only {human_bytes(short)} was left "
            f"on the disk holding {part.parent}, and the dump keeps {human_bytes(keep_free)} "
            "free for the session journal and the host. The partial dump was deleted. Free "
            "space there (or lower keep_free_mb on the item) and run the item again.",
        )
    if code != 0:
        raise ActionFailed(
            "pg_dump failed",
            f"pg_dump exited with {code} (its message is above). The partial file is kept: "
            f"{part} ({human_bytes(writer.size)}).",
        )
    os.replace(part, final)
    ctx.files[-1] = str(final)
    say(f"pg_dump: done, {human_bytes(writer.size)} in {final.name}; "
        f"sha256 {writer.sha256.hexdigest()}")
    return writer.size, writer.sha256.hexdigest()


class UploadProgress:
    """boto3 transfer callback (called from its threads): a line about once a second."""

    def __init__(self, total: int, label: str) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self._lock = threading.Lock()
        self._ticker = Ticker()

    def __call__(self, amount: int) -> None:
        with self._lock:
            self.done += amount
            if self._ticker.due() or self.done >= self.total:
                pct = 100.0 * self.done / self.total
                say(f"upload {self.label}: {pct:5.1f}% of {human_bytes(self.total)} "
                    f"({self._ticker.rate(self.done)})")


def transfer_config() -> Any:
    """Multipart settings shared by uploads and downloads."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE,
                          max_concurrency=CONCURRENCY, use_threads=True)


def upload_file(ctx: Context, path: Path, bucket: str, key: str, size: int, sha256: str) -> None:
    """Upload with an S3-side SHA-256 checksum and our own sha256 in the metadata; then check."""
    s3 = s3_client(ctx)
    say(f"upload: {path.name} -> s3://{bucket}/{key}")
    extra = {"ChecksumAlgorithm": "SHA256",
             "Metadata": {"sha256": sha256, "rsdeploy-session": ctx.session_id}}
    try:
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra,
                       Callback=UploadProgress(size, path.name), Config=transfer_config())
        head = s3.head_object(Bucket=bucket, Key=key)
    except aws_exceptions() as exc:
        raise aws_error(exc, f"Upload to s3://{bucket}/{key}") from None
    if int(head.get("ContentLength", -1)) != size:
        raise ActionFailed(
            "Upload incomplete",
            f"s3://{bucket}/{key} holds {head.get('ContentLength')} bytes, the dump {size}.",
        )
    say(f"upload: done, s3://{bucket}/{key} ({human_bytes(size)})")
