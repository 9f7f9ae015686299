"""Media backup to moto's S3: counts and bytes, unchanged files skipped, S3 prefix as source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from backup_harness import BUCKET, Deployment

from rsdeploy_tui.actions.db_backup import PART_SIZE


def make_media(root: Path) -> dict[str, bytes]:
    files = {
        "repairs/1/front.jpg": b"\xff\xd8front" * 1000,
        "repairs/1/back.jpg": b"\xff\xd8back" * 700,
        # above the multipart threshold: its S3 ETag is the multipart kind
        "exports/big.bin": os.urandom(PART_SIZE + 1234),
    }
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return files


def test_media_backup_copies_then_skips_unchanged_files(deployment: Deployment,
                                                        aws_env: Any, tmp_path: Path) -> None:
    media = Path(deployment.vars["media_source"])
    files = make_media(media)
    result, code = deployment.run("deploy.media-backup")
    assert code == 0, result.summary
    facts = deployment.facts
    prefix = f"emergency/{deployment.session.id}/media/"
    assert facts["media_backup_prefix"] == f"s3://{BUCKET}/{prefix}"
    assert facts["media_files"] == 3 and facts["media_uploaded"] == 3
    assert facts["media_bytes"] == sum(len(b) for b in files.values())
    s3 = aws_env.client("s3")
    for rel, body in files.items():
        assert s3.get_object(Bucket=BUCKET, Key=prefix + rel)["Body"].read() == body

    result, code = deployment.run("deploy.media-backup")
    assert code == 0 and deployment.facts["media_skipped"] == 3
    assert deployment.facts["media_uploaded"] == 0

    (media / "repairs/1/back.jpg").write_bytes(b"\xff\xd8changed")
    result, code = deployment.run("deploy.media-backup")
    assert code == 0
    assert (deployment.facts["media_uploaded"], deployment.facts["media_skipped"]) == (1, 2)
    assert s3.get_object(Bucket=BUCKET, Key=prefix + "repairs/1/back.jpg")["Body"].read() == \
        b"\xff\xd8changed"


def test_a_file_whose_etag_is_not_its_md5_is_skipped_by_its_sha256(
        deployment: Deployment, aws_env: Any) -> None:
    """Under SSE-KMS, or after another tool uploaded with other part sizes, the ETag says nothing
    about the content: the SHA-256 stored by the first backup decides, without re-uploading."""
    import hashlib

    from boto3.s3.transfer import TransferConfig

    media = Path(deployment.vars["media_source"])
    body = os.urandom(6 * 1024 * 1024)
    (media / "scans").mkdir(parents=True, exist_ok=True)
    (media / "scans/a.pdf").write_bytes(body)
    key = f"emergency/{deployment.session.id}/media/scans/a.pdf"
    s3 = aws_env.client("s3")
    small_parts = TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                 multipart_chunksize=5 * 1024 * 1024)
    # Another tool's upload: a multipart ETag ("...-2") our part size would never give.
    s3.upload_file(str(media / "scans/a.pdf"), BUCKET, key, Config=small_parts)
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"].endswith('-2"')

    deployment.run("deploy.media-backup")  # no stored SHA-256: uploaded, with it this time
    assert (deployment.facts["media_uploaded"], deployment.facts["media_skipped"]) == (1, 0)
    stored = s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["sha256"]
    assert stored == hashlib.sha256(body).hexdigest()

    s3.upload_file(str(media / "scans/a.pdf"), BUCKET, key, Config=small_parts,
                   ExtraArgs={"Metadata": {"sha256": stored}})  # ETag not an MD5 again
    deployment.run("deploy.media-backup")
    assert (deployment.facts["media_uploaded"], deployment.facts["media_skipped"]) == (0, 1)

    (media / "scans/a.pdf").write_bytes(body[:-1] + b"!")  # same size, other content
    deployment.run("deploy.media-backup")
    assert (deployment.facts["media_uploaded"], deployment.facts["media_skipped"]) == (1, 0)


def test_media_backup_from_an_s3_prefix(deployment: Deployment, aws_env: Any) -> None:
    aws_env.create_bucket("rs-media", {"media/a.jpg": b"a" * 10, "media/x/b.jpg": b"b" * 20,
                                       "other/c.jpg": b"c"})
    deployment.vars["media_source"] = "s3://rs-media/media"
    result, code = deployment.run("deploy.media-backup")
    assert code == 0, result.summary
    facts = deployment.facts
    assert (facts["media_files"], facts["media_bytes"]) == (2, 30)
    keys = {o["Key"] for o in aws_env.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix=f"emergency/{deployment.session.id}/media/")["Contents"]}
    assert keys == {f"emergency/{deployment.session.id}/media/a.jpg",
                    f"emergency/{deployment.session.id}/media/x/b.jpg"}


def test_a_missing_media_folder_is_a_clear_failure(deployment: Deployment) -> None:
    result, code = deployment.run("deploy.media-backup")
    assert code == 1 and "Media folder missing" in result.summary
    assert deployment.vars["media_source"] in result.summary
