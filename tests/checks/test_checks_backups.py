"""db_backup proves a database dump in S3 (moto), made by the real pg_dump (#13.2)."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
from typing import Any

import pytest
from checkrun import run

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checks.registry import CheckContext, run_check

BUCKET = "rs-backups"
PHOTO = b"\xff\xd8\xff\xe0" + os.urandom(20_000)  # a JPEG, 20 kB
BACKUP_ITEMS = ("pre.db-backup", "deploy.db-backup-now", "deploy.verify-backup-integrity")


@pytest.fixture
def dumps(pg_db: Any) -> dict[str, bytes]:
    """Real pg_dump output of the seeded database: custom and plain formats."""
    env = {**os.environ, **pg_db.libpq_env()}
    custom = subprocess.run([pg_db.tool("pg_dump"), "-Fc"], env=env, capture_output=True,
                            check=True).stdout
    plain = subprocess.run([pg_db.tool("pg_dump")], env=env, capture_output=True,
                           check=True).stdout
    return {"custom": custom, "plain": plain}


def ctx(facts: dict[str, Any] | None = None) -> CheckContext:
    return CheckContext(vars={"backup_bucket": BUCKET, "backup_prefix": "emergency"},
                        facts=facts or {}, environ=dict(os.environ))


async def bundled(qid: str, context: CheckContext) -> Any:
    return await run_check(load_checklist().item(qid), context)


async def test_a_media_photo_is_not_a_database_backup(aws_env: Any) -> None:
    aws_env.create_bucket(BUCKET, {"emergency/media/photos/photo-1.jpg": PHOTO})
    for qid in BACKUP_ITEMS:
        result = await bundled(qid, ctx())
        assert result.status == "fail", (qid, result.summary)
        assert "no database dump" in result.summary
        assert result.evidence["not_a_dump_example"] == "emergency/media/photos/photo-1.jpg"


async def test_a_photo_named_like_a_dump_is_rejected(aws_env: Any) -> None:
    aws_env.create_bucket(BUCKET, {"emergency/db-backup.dump": PHOTO,
                                   "emergency/db-backup.sql": PHOTO})
    result = await bundled("pre.db-backup", ctx())
    assert result.status == "fail"
    assert sorted(result.evidence["rejected"]) == [
        "emergency/db-backup.dump (no PGDMP header)",
        "emergency/db-backup.sql (no SQL dump header and trailer)"]


async def test_newest_real_dump_proves_it(aws_env: Any, dumps: dict[str, bytes]) -> None:
    aws_env.create_bucket(BUCKET, {"emergency/s1/db-backup-1.dump": dumps["custom"]})
    aws_env.create_bucket("other", {})
    s3 = aws_env.client("s3")
    # A newer photo does not hide the dump.
    s3.put_object(Bucket=BUCKET, Key="emergency/media/photo-2.jpg", Body=PHOTO)
    result = await bundled("pre.db-backup", ctx())
    assert result.status == "pass", result.summary
    assert result.evidence["object"] == "emergency/s1/db-backup-1.dump"
    assert result.evidence["proof"] == ["PGDMP header"]
    assert result.summary.startswith("newest dump emergency/s1/db-backup-1.dump (")
    assert "PGDMP header" in result.summary


async def test_plain_and_gzip_dumps_need_header_and_trailer(aws_env: Any,
                                                            dumps: dict[str, bytes]) -> None:
    cut = dumps["plain"][: len(dumps["plain"]) // 2]
    aws_env.create_bucket(BUCKET, {"emergency/b.sql": cut})
    only_cut = await run("db_backup", ctx(), min_bytes=100)
    assert only_cut.status == "fail"
    assert only_cut.evidence["rejected"] == ["emergency/b.sql (no SQL dump header and trailer)"]
    aws_env.client("s3").put_object(Bucket=BUCKET, Key="emergency/a.sql.gz",
                                    Body=gzip.compress(dumps["plain"]))
    result = await run("db_backup", ctx(), min_bytes=100)
    assert result.status == "pass", result.summary
    assert result.evidence["object"] == "emergency/a.sql.gz"
    assert result.evidence["proof"] == ["gzip, SQL dump header and completion trailer"]
    aws_env.client("s3").put_object(Bucket=BUCKET, Key="emergency/a.sql.gz",
                                    Body=gzip.compress(cut))
    cut_gz = await run("db_backup", ctx(), min_bytes=100)
    assert cut_gz.status == "fail", cut_gz.summary


async def test_stale_or_small_dump_fails(aws_env: Any, dumps: dict[str, bytes]) -> None:
    aws_env.create_bucket(BUCKET, {"emergency/x.dump": dumps["custom"]})
    stale = await run("db_backup", ctx(), max_age_minutes=-1)
    assert stale.status == "fail" and "min old > -1 min" in stale.summary
    small = await run("db_backup", ctx(), min_bytes=10**9)
    assert small.status == "fail" and f"{len(dumps['custom'])} bytes < {10**9}" in small.summary


def session_facts(aws_env: Any, body: bytes, key: str = "emergency/s9/db-backup-9.dump",
                  **extra: Any) -> dict[str, Any]:
    """Upload as the db_backup action does (S3 SHA-256 checksum, sha256 metadata)."""
    sha = hashlib.sha256(body).hexdigest()
    aws_env.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body,
                                    ChecksumAlgorithm="SHA256", Metadata={"sha256": sha})
    return {"backup_key": key, "backup_bucket": BUCKET, "backup_size": len(body),
            "backup_sha256": sha, "backup_format": "custom", **extra}


async def test_session_backup_is_the_recorded_object(aws_env: Any,
                                                     dumps: dict[str, bytes]) -> None:
    aws_env.create_bucket(BUCKET, {"emergency/newer-by-hand.dump": dumps["custom"]})
    facts = session_facts(aws_env, dumps["custom"])
    result = await bundled("deploy.db-backup-now", ctx(facts))
    assert result.status == "pass", result.summary
    assert result.evidence["object"] == f"s3://{BUCKET}/emergency/s9/db-backup-9.dump"
    assert result.evidence["proof"] == [
        "PGDMP header", "sha256 = backup_sha256 fact (S3's SHA-256 checksum)"]
    wrong = await bundled("deploy.db-backup-now", ctx({**facts, "backup_sha256": "0" * 64}))
    assert wrong.status == "fail" and "sha256 differs" in wrong.summary
    resized = await bundled("deploy.db-backup-now", ctx({**facts, "backup_size": 5}))
    assert resized.status == "fail" and "the backup recorded 5" in resized.summary
    gone = await bundled("deploy.db-backup-now", ctx({**facts, "backup_key": "emergency/no.dump"}))
    assert gone.status == "fail" and "is not in S3" in gone.summary


async def test_session_sha256_recomputed_without_an_s3_checksum(
        aws_env: Any, dumps: dict[str, bytes]) -> None:
    key = "emergency/s9/plain.dump"
    aws_env.create_bucket(BUCKET, {key: dumps["custom"]})  # no ChecksumAlgorithm
    facts = {"backup_key": key, "backup_size": len(dumps["custom"]),
             "backup_sha256": hashlib.sha256(dumps["custom"]).hexdigest()}
    result = await run("db_backup", ctx(facts))
    assert result.status == "pass", result.summary
    assert result.evidence["sha256_checked_by"] == "sha256 of the downloaded object"


async def test_verified_needs_the_verification_of_that_key(aws_env: Any,
                                                           dumps: dict[str, bytes]) -> None:
    aws_env.create_bucket(BUCKET, {})
    facts = session_facts(aws_env, dumps["custom"])
    qid = "deploy.verify-backup-integrity"
    unverified = await bundled(qid, ctx(facts))
    assert unverified.status == "fail" and "not verified yet" in unverified.summary
    other = await bundled(qid, ctx({**facts, "backup_verified": True,
                                    "backup_verified_key": "emergency/old.dump"}))
    assert other.status == "fail" and "verification was of emergency/old.dump" in other.summary
    bad = await bundled(qid, ctx({**facts, "backup_verified": False,
                                  "backup_verify_error": "no completion trailer"}))
    assert bad.status == "fail" and "verification failed: no completion trailer" in bad.summary
    good = await bundled(qid, ctx({**facts, "backup_verified": True,
                                   "backup_verified_key": facts["backup_key"],
                                   "backup_verified_sha256": facts["backup_sha256"]}))
    assert good.status == "pass", good.summary
    # Headless (no facts), verification cannot be proven.
    headless = await bundled(qid, ctx())
    assert headless.status == "fail" and "not proven verified" in headless.summary
