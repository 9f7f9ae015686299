"""``db_backup``: pg_dump of the configured database to the session directory, then to S3.

The dump streams through this process in 1 MiB chunks: written to ``backups/<name>.part`` and
hashed (SHA-256) on the way, renamed when pg_dump succeeds, then uploaded with boto3 (multipart
above 16 MiB, S3-side SHA-256 checksum). The password reaches pg_dump only as PGPASSWORD in its
environment, never on a command line.
"""

from __future__ import annotations

import io
import os
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


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Dump, hash, upload; returns (summary, facts)."""
    fmt = ctx.param("format", "custom")
    if fmt not in FORMATS:
        raise ActionFailed("Bad backup format", f"format '{fmt}' is not 'custom' or 'plain'.")
    db = Database.from_env()
    final = ctx.backups_dir() / dump_name(ctx.spec)
    size, sha256 = dump(db, fmt, final, ctx)
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


def dump(db: Database, fmt: str, final: Path, ctx: Context) -> tuple[int, str]:
    """Run pg_dump into ``final`` (via ``.part``); returns (size, sha256 hex)."""
    part = final.with_name(final.name + ".part")
    argv = [pg_tool("pg_dump"), f"--format={fmt}", *db.args()]
    say(f"pg_dump ({fmt}) of {db.name} on {db.host}:{db.port} -> {part}")
    writer = HashingWriter(part)
    ctx.files.append(str(part))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            env=db.child_env(), preexec_fn=die_with_parent)
    reader = cast(io.BufferedReader, proc.stdout)  # read1: whatever is there, up to CHUNK
    ticker = Ticker()
    try:
        while chunk := reader.read1(CHUNK):
            writer.write(chunk)
            if ticker.due():
                say(f"pg_dump: {human_bytes(writer.size)} written ({ticker.rate(writer.size)})")
        code = proc.wait()
    finally:
        if proc.poll() is None:  # cancelled or failed while reading: do not leave pg_dump behind
            proc.terminate()
            proc.wait()
        writer.close(sync=proc.returncode == 0)
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
