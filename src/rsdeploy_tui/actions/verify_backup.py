"""``verify_backup``: download this session's backup from S3 and prove it is whole.

Streams the object to ``backups/<file>.<run id>.part`` while hashing it, compares size and SHA-256
with the facts ``db_backup`` recorded, then proves the dump complete: a custom-format archive must
list (``pg_restore --list``) and read through to the end (``pg_restore --file=/dev/null``, which
fails on a truncated archive); a plain SQL dump must end with pg_dump's completion trailer.
The downloaded copy is removed afterwards (the local dump from ``db_backup`` stays).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsdeploy_tui.actions.common import (
    CHUNK,
    ActionFailed,
    Context,
    Ticker,
    aws_error,
    aws_exceptions,
    human_bytes,
    pg_tool,
    s3_client,
    say,
)

PLAIN_TRAILER = b"PostgreSQL database dump complete"


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Download, compare, check completeness; returns (summary, facts)."""
    key = ctx.param("key", str(ctx.fact("backup_key") or ""))
    bucket = ctx.param("bucket", str(ctx.fact("backup_bucket") or ctx.var("backup_bucket")))
    expected_sha = str(ctx.fact("backup_sha256") or "")
    expected_size = ctx.fact("backup_size")
    fmt = ctx.param("format", str(ctx.fact("backup_format") or ""))
    if not key:
        raise ActionFailed(
            "No backup to verify",
            "This session has no backup_key fact: run 'Create immediate database backup' "
            "(db_backup) first, or give the action a 'key'.",
        )
    if not fmt:
        fmt = "plain" if key.endswith(".sql") else "custom"
    target = ctx.backups_dir() / f"{Path(key).name}.{ctx.spec['run_id']}.part"
    try:
        size, sha256 = download(ctx, bucket, key, target)
        problems = compare(size, sha256, expected_size, expected_sha)
        if not problems:
            detail = prove_complete(target, fmt)
    finally:
        target.unlink(missing_ok=True)
    uri = f"s3://{bucket}/{key}"
    if problems:
        raise ActionFailed(
            "Backup does not match",
            f"{uri}: " + "; ".join(problems) + ". Do not rely on it: make a new backup.",
            facts={"backup_verified": False, "backup_verify_error": "; ".join(problems)},
        )
    facts = {
        "backup_verified": True,
        "backup_verified_key": key,
        "backup_verified_sha256": sha256,
        "backup_verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return f"Verified {uri}: {human_bytes(size)}, sha256 matches, {detail}.", facts


def download(ctx: Context, bucket: str, key: str, target: Path) -> tuple[int, str]:
    """Stream the object to ``target``; returns (size, sha256 hex)."""
    s3 = s3_client(ctx)
    say(f"download: s3://{bucket}/{key}")
    digest = hashlib.sha256()
    size = 0
    ticker = Ticker()
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        total = int(response.get("ContentLength") or 0)
        with open(target, "wb") as fh:
            os.chmod(target, 0o600)
            for chunk in response["Body"].iter_chunks(CHUNK):
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if ticker.due():
                    pct = 100.0 * size / total if total else 100.0
                    say(f"download: {pct:5.1f}% of {human_bytes(total)} ({ticker.rate(size)})")
    except aws_exceptions() as exc:
        raise aws_error(exc, f"Download of s3://{bucket}/{key}") from None
    say(f"download: done, {human_bytes(size)}; sha256 {digest.hexdigest()}")
    return size, digest.hexdigest()


def compare(size: int, sha256: str, expected_size: Any, expected_sha: str) -> list[str]:
    """What differs from the recorded facts (empty when all matches)."""
    problems = []
    if expected_size is not None and str(expected_size) != str(size):
        problems.append(f"size {size} bytes, recorded {expected_size}")
    if not expected_sha:
        problems.append("no sha256 recorded for it (backup_sha256 fact missing)")
    elif sha256 != expected_sha:
        problems.append(f"sha256 {sha256[:16]}..., recorded {expected_sha[:16]}...")
    return problems


def prove_complete(path: Path, fmt: str) -> str:
    """Raise ActionFailed unless the dump is whole; returns what was proven."""
    if fmt == "plain":
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            tail = fh.read()
        if PLAIN_TRAILER not in tail:
            raise ActionFailed(
                "Backup incomplete",
                f"the SQL dump does not end with '-- {PLAIN_TRAILER.decode()}': it was cut short.",
                facts={"backup_verified": False, "backup_verify_error": "no completion trailer"},
            )
        return "the SQL dump ends with pg_dump's completion trailer"
    restore = pg_tool("pg_restore")
    listing = _pg_restore([restore, "--list", str(path)])
    entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
    say(f"pg_restore --list: {entries} entries")
    _pg_restore([restore, "--file=/dev/null", str(path)])
    say("pg_restore: read the whole archive without error")
    return f"pg_restore lists {entries} entries and reads the whole archive"


def _pg_restore(argv: list[str]) -> str:
    """Run pg_restore (no database connection); ActionFailed with its message when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
        err.seek(0)
        message = err.read(4000).decode("utf-8", "replace").strip()
        if code != 0:
            raise ActionFailed(
                "Backup incomplete",
                f"{Path(argv[0]).name} {argv[1]} failed ({code}): {message or 'no message'}",
                facts={"backup_verified": False, "backup_verify_error": message[:300]},
            )
        out.seek(0)
        return out.read().decode("utf-8", "replace")
