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
