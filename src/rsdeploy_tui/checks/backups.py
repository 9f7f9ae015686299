"""The ``db_backup`` check: a database backup exists in S3 — a dump, not any object.

In a session whose ``db_backup`` action recorded ``backup_key``/``backup_size``/``backup_sha256``,
the check proves *that* object: it exists, its size matches, its sha256 matches (S3's own
full-object SHA-256 checksum, else the object is downloaded and hashed; the uploader's metadata
alone is reported as such), and its first bytes are a dump's. With ``verified: true`` it also needs
the session's ``backup_verified`` fact for that same key.

Without such facts (headless ``check``, a backup taken by hand, or ``from_session: false``), the
newest object under the prefix whose *name* (``.dump``, ``.sql``, ``.sql.gz``) and *content* (a
custom-format ``PGDMP`` header; a plain dump's header and completion trailer, gzip-decoded for
``.sql.gz``) are a dump's, fresh and big enough. Photos and other media never qualify.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime
from typing import Any

from rsdeploy_tui.checks.aws_checks import _client, _in_thread
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed

DUMP_SUFFIXES = (".dump", ".sql", ".sql.gz")
CUSTOM_MAGIC = b"PGDMP"
PLAIN_HEADER = b"-- PostgreSQL database dump"
PLAIN_TRAILER = b"-- PostgreSQL database dump complete"
HEAD_BYTES = 64 * 1024
"""Bytes read from the start of a candidate (a plain dump's header comes after a few comments)."""
TAIL_BYTES = 4096
HASH_LIMIT = 512 * 1024 * 1024
"""Largest object downloaded to recompute its sha256 when S3 holds no full-object checksum."""
MAX_CANDIDATES = 5
"""Dump-named objects opened, newest first, before giving up on finding a real dump."""


def human(size: int) -> str:
    """``41 kB``, ``3.2 MB``: sizes as an operator reads them (powers of 1000, as S3 shows)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("bytes", "kB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def dump_kind(key: str) -> str | None:
    """``custom``, ``plain`` or ``plain-gz`` from an object name; None for anything else."""
    lowered = key.lower()
    if lowered.endswith(".dump"):
        return "custom"
    if lowered.endswith(".sql.gz"):
        return "plain-gz"
    if lowered.endswith(".sql"):
        return "plain"
    return None


def _read(s3: Any, bucket: str, key: str, byte_range: str) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key, Range=byte_range)["Body"]
    return body.read()  # type: ignore[no-any-return]


def _gzip_ends(s3: Any, bucket: str, key: str) -> tuple[bytes, bytes]:
    """Start and end of a gzip-compressed object's decoded content (streamed, bounded memory)."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head, tail = b"", b""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        for chunk in body.iter_chunks(1024 * 1024):
            data = inflate.decompress(chunk)
            if len(head) < HEAD_BYTES:
                head += data[: HEAD_BYTES - len(head)]
            tail = (tail + data)[-TAIL_BYTES:]
    except zlib.error as exc:
        raise ValueError(f"not valid gzip ({exc})") from exc
    return head, (tail + inflate.flush())[-TAIL_BYTES:]


def content_proof(s3: Any, bucket: str, key: str, kind: str, size: int) -> str | None:
    """What in the object's bytes shows it is a dump (e.g. ``PGDMP header``), or None."""
    if kind == "custom":
        return "PGDMP header" if _read(s3, bucket, key, "bytes=0-4") == CUSTOM_MAGIC else None
    if kind == "plain-gz":
        try:
            head, tail = _gzip_ends(s3, bucket, key)
        except ValueError:
            return None
        gz = "gzip, "
    else:
        head = _read(s3, bucket, key, f"bytes=0-{HEAD_BYTES - 1}")
        tail = _read(s3, bucket, key, f"bytes=-{min(TAIL_BYTES, max(size, 1))}")
        gz = ""
    if PLAIN_HEADER in head and PLAIN_TRAILER in tail:
        return f"{gz}SQL dump header and completion trailer"
    return None


def _rejection(kind: str) -> str:
    return {"custom": "no PGDMP header", "plain": "no SQL dump header and trailer",
            "plain-gz": "not a gzip-compressed SQL dump with header and trailer"}[kind]


def _age_minutes(modified: datetime) -> float:
    return (datetime.now(UTC) - modified).total_seconds() / 60


def _sha256_proof(s3: Any, bucket: str, key: str, head: dict[str, Any], expected: str,
                  size: int) -> tuple[bool, str]:
    """(matches, how it was established) for the object's sha256 against ``expected``."""
    checksum = str(head.get("ChecksumSHA256") or "")
    if checksum and "-" not in checksum:  # full-object checksum computed by S3 (not multipart)
        try:
            actual = base64.b64decode(checksum).hex()
        except ValueError:
            actual = ""
        if actual:
            return actual == expected, "S3's SHA-256 checksum"
    if size <= HASH_LIMIT:
        digest = hashlib.sha256()
        for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1024 * 1024):
            digest.update(chunk)
        return digest.hexdigest() == expected, "sha256 of the downloaded object"
    claimed = str((head.get("Metadata") or {}).get("sha256") or "")
    return claimed == expected, "sha256 in the object's metadata (not recomputed: too big)"


def _session_backup(ctx: CheckContext, params: dict[str, Any], bucket: str) -> CheckResult:
    facts = ctx.facts
    key = str(facts.get("backup_key"))
    bucket = str(facts.get("backup_bucket") or bucket)
    where = f"s3://{bucket}/{key}"
    evidence: dict[str, Any] = {"source": "this session's db_backup facts", "object": where}
    s3 = _client(ctx, "s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return failed(f"this session's backup {where} is not in S3", **evidence)
        raise
    size = int(head.get("ContentLength", -1))
    modified = head["LastModified"]
    evidence.update(size=size, last_modified=modified.isoformat(),
                    age_minutes=round(_age_minutes(modified), 1))
    problems: list[str] = []
    recorded_size = facts.get("backup_size")
    if recorded_size is None or str(recorded_size) != str(size):
        problems.append(f"size {size} bytes, the backup recorded {recorded_size}")
    expected = str(facts.get("backup_sha256") or "")
    proofs: list[str] = []
    if not expected:
        problems.append("no backup_sha256 fact to compare with")
    else:
        same, how = _sha256_proof(s3, bucket, key, head, expected, size)
        evidence["sha256_checked_by"] = how
        if same:
            proofs.append(f"sha256 = backup_sha256 fact ({how})")
        else:
            problems.append(f"sha256 differs from the backup_sha256 fact ({how})")
    kind = dump_kind(key) or ("custom" if facts.get("backup_format") == "custom" else "plain")
    content = content_proof(s3, bucket, key, kind, size)
    if content is None:
        problems.append(_rejection(kind))
    else:
        proofs.insert(0, content)
    min_bytes = int(params.get("min_bytes", 1024))
    if size < min_bytes:
        problems.append(f"{size} bytes < {min_bytes}")
    problems += _freshness(params, modified)
    if params.get("verified"):
        unverified = _verification(facts, key, expected)
        problems += unverified
        if not unverified:
            proofs.append(f"verified at {facts.get('backup_verified_at') or 'an earlier step'}")
    evidence["proof"] = proofs
    if problems:
        return failed(f"this session's backup {key}: " + "; ".join(problems), **evidence)
    return passed(f"this session's backup {key} ({human(size)}, {', '.join(proofs)})",
                  **evidence)


def _verification(facts: Any, key: str, sha256: str) -> list[str]:
    if facts.get("backup_verified") is not True:
        error = facts.get("backup_verify_error")
        if facts.get("backup_verified") is False:
            return [f"verification failed: {error or 'see the verify step'}"]
        return ["not verified yet: run the backup verification (verify_backup) first"]
    if str(facts.get("backup_verified_key") or "") != key:
        return [f"the verification was of {facts.get('backup_verified_key')}, not this backup"]
    verified_sha = str(facts.get("backup_verified_sha256") or "")
    if verified_sha and sha256 and verified_sha != sha256:
        return ["the verified sha256 differs from the backup's"]
    return []


def _freshness(params: dict[str, Any], modified: datetime) -> list[str]:
    max_age = params.get("max_age_minutes")
    age = _age_minutes(modified)
    if max_age is not None and age > float(max_age):
        return [f"{age:.0f} min old > {max_age} min"]
    return []


def _scan(ctx: CheckContext, params: dict[str, Any], bucket: str, prefix: str) -> CheckResult:
    s3 = _client(ctx, "s3")
    where = f"s3://{bucket}/{prefix}"
    named: list[dict[str, Any]] = []
    others = 0
    example = ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if dump_kind(obj["Key"]):
                named.append(obj)
            else:
                others += 1
                example = example or obj["Key"]
    evidence: dict[str, Any] = {"source": f"newest dump under {where}", "dumps_named": len(named),
                                "other_objects": others}
    if example:
        evidence["not_a_dump_example"] = example
    named.sort(key=lambda o: o["LastModified"], reverse=True)
    rejected: list[str] = []
    for obj in named[:MAX_CANDIDATES]:
        kind = dump_kind(obj["Key"]) or "custom"
        proof = content_proof(s3, bucket, obj["Key"], kind, int(obj["Size"]))
        if proof is None:
            rejected.append(f"{obj['Key']} ({_rejection(kind)})")
            continue
        return _judge_scanned(params, obj, proof, rejected, evidence)
    if rejected:
        evidence["rejected"] = rejected
    ignored = f"; {others} other object(s) are not dumps" if others else ""
    if named:
        return failed(f"no database dump under {where}: {len(rejected)} dump-named object(s) "
                      f"are not dumps{ignored}", **evidence)
    return failed(f"no database dump (.dump, .sql, .sql.gz) under {where}{ignored}", **evidence)


def _judge_scanned(params: dict[str, Any], obj: dict[str, Any], proof: str, rejected: list[str],
                   evidence: dict[str, Any]) -> CheckResult:
    key, size, modified = obj["Key"], int(obj["Size"]), obj["LastModified"]
    evidence.update(object=key, size=size, last_modified=modified.isoformat(),
                    age_minutes=round(_age_minutes(modified), 1), proof=[proof])
    if rejected:
        evidence["rejected"] = rejected
    problems = []
    min_bytes = int(params.get("min_bytes", 1024))
    if size < min_bytes:
        problems.append(f"{size} bytes < {min_bytes}")
    problems += _freshness(params, modified)
    if params.get("verified"):
        problems.append("not proven verified: no backup_verified fact (verification is "
                        "recorded by the verify_backup action in a session)")
    if problems:
        return failed(f"newest dump {key}: " + "; ".join(problems), **evidence)
    age = _age_minutes(modified)
    return passed(f"newest dump {key} ({human(size)}, {proof}, {age:.0f} min old)", **evidence)


async def check_db_backup(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """A database dump is in S3: this session's recorded backup, else the newest real dump."""
    bucket = str(params.get("bucket") or ctx.var("backup_bucket"))
    prefix = str(params.get("prefix") if params.get("prefix") is not None
                 else (ctx.var("backup_prefix") + "/" if ctx.var("backup_prefix") else ""))
    if not bucket:
        raise CheckError("no backup bucket: set bucket or the backup_bucket var")
    from_session = params.get("from_session", True) is not False
    if from_session and ctx.facts.get("backup_key"):
        return await _in_thread(_session_backup, ctx, params, bucket)
    return await _in_thread(_scan, ctx, params, bucket, prefix)
