"""``media_backup``: copy the media files (a local folder or an S3 prefix) to the backup prefix.

Destination: ``dest`` (``s3://bucket/prefix``) or ``s3://${backup_bucket}/${backup_prefix}/
<session id>/media/``. A file already there with the same size and ETag is skipped (the ETag of a
local file is computed the way S3 computes it for our part size: MD5, or the MD5 of part MD5s
with ``-N`` for multipart uploads), so re-running after an interruption only sends what is missing.
The ETag is not an MD5 under SSE-KMS, nor for a file another tool uploaded with other part sizes:
each upload also stores the file's SHA-256 in the object's metadata, and a file of the same size
whose ETag differs is skipped when that SHA-256 matches (one HEAD request, no upload).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rsdeploy_tui.actions.common import (
    CHUNK,
    ActionFailed,
    Context,
    Ticker,
    aws_error,
    aws_exceptions,
    file_sha256,
    human_bytes,
    s3_client,
    say,
)
from rsdeploy_tui.actions.db_backup import PART_SIZE, transfer_config


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, ``some/prefix/``)."""
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def local_etag(path: Path, size: int) -> str:
    """The ETag S3 gives this file when uploaded with our transfer settings."""
    if size < PART_SIZE:
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        return f'"{digest.hexdigest()}"'
    parts = []
    with open(path, "rb") as fh:
        while block := fh.read(PART_SIZE):
            parts.append(hashlib.md5(block, usedforsecurity=False).digest())
    combined = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
    return f'"{combined}-{len(parts)}"'


def existing_objects(s3: Any, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """key -> (size, ETag) under ``prefix``."""
    found: dict[str, tuple[int, str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = (int(obj["Size"]), str(obj.get("ETag", "")))
    return found


def local_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, relative key part) of every regular file under ``root``, sorted, symlinks skipped."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


class Tally:
    """Counts for progress lines and facts."""

    def __init__(self) -> None:
        self.files = self.uploaded = self.skipped = 0
        self.bytes = self.uploaded_bytes = 0
        self.ticker = Ticker()

    def line(self) -> str:
        """One progress line."""
        return (f"media: {self.files} files seen, {self.uploaded} copied "
                f"({human_bytes(self.uploaded_bytes)}), {self.skipped} unchanged")


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Copy new and changed media files; returns (summary, facts)."""
    source = ctx.param("source")
    if not source:
        raise ActionFailed("No media source", "The media_backup action needs 'source'.")
    if ctx.param("dest"):
        bucket, prefix = split_s3(ctx.param("dest"))
    else:
        bucket, session_prefix = ctx.bucket_and_prefix()
        prefix = f"{session_prefix}/media/"
    s3 = s3_client(ctx)
    tally = Tally()
    say(f"media: {source} -> s3://{bucket}/{prefix}")
    try:
        have = existing_objects(s3, bucket, prefix)
        if source.startswith("s3://"):
            _from_s3(s3, source, bucket, prefix, have, tally)
        else:
            _from_folder(s3, Path(source), bucket, prefix, have, tally)
    except aws_exceptions() as exc:
        raise aws_error(exc, "Media copy") from None
    say(tally.line())
    facts = {
        "media_backup_prefix": f"s3://{bucket}/{prefix}",
        "media_files": tally.files,
        "media_bytes": tally.bytes,
        "media_uploaded": tally.uploaded,
        "media_uploaded_bytes": tally.uploaded_bytes,
        "media_skipped": tally.skipped,
    }
    summary = (f"Media backed up to s3://{bucket}/{prefix}: {tally.files} files "
               f"({human_bytes(tally.bytes)}), {tally.uploaded} copied, "
               f"{tally.skipped} unchanged.")
    return summary, facts


def _from_folder(s3: Any, root: Path, bucket: str, prefix: str,
                 have: dict[str, tuple[int, str]], tally: Tally) -> None:
    if not root.is_dir():
        raise ActionFailed("Media folder missing", f"{root} is not a folder on this machine.")
    config = transfer_config()
    for path, rel in local_files(root):
        size = path.stat().st_size
        key = prefix + rel
        tally.files += 1
        tally.bytes += size
        known = have.get(key)
        sha256 = None
        if known and known[0] == size and known[1] != local_etag(path, size):
            sha256 = file_sha256(path)[1]
            if _stored_sha256(s3, bucket, key) != sha256:
                known = None
        if known and known[0] == size:
            tally.skipped += 1
        else:
            sha256 = sha256 or file_sha256(path)[1]
            s3.upload_file(str(path), bucket, key, Config=config,
                           ExtraArgs={"Metadata": {"sha256": sha256}})
            tally.uploaded += 1
            tally.uploaded_bytes += size
        if tally.ticker.due():
            say(tally.line())


def _stored_sha256(s3: Any, bucket: str, key: str) -> str | None:
    """The SHA-256 an earlier media backup stored with the object (None if none)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    return (head.get("Metadata") or {}).get("sha256")


def _from_s3(s3: Any, source: str, bucket: str, prefix: str,
             have: dict[str, tuple[int, str]], tally: Tally) -> None:
    src_bucket, src_prefix = split_s3(source)
    config = transfer_config()
    for key, (size, etag) in sorted(existing_objects(s3, src_bucket, src_prefix).items()):
        if key.endswith("/"):
            continue  # a "folder" marker
        dest = prefix + key[len(src_prefix):]
        tally.files += 1
        tally.bytes += size
        known = have.get(dest)
        # A multipart copy gets a new ETag: then equal size is taken as unchanged.
        same = known is not None and known[0] == size and (
            known[1] == etag or ("-" in etag or "-" in known[1]))
        if same:
            tally.skipped += 1
        else:
            s3.copy({"Bucket": src_bucket, "Key": key}, bucket, dest, Config=config)
            tally.uploaded += 1
            tally.uploaded_bytes += size
        if tally.ticker.due():
            say(tally.line())
