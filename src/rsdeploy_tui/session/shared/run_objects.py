"""A detached run's files in the shared store, and how another machine reads them back (#18).

Under ``<prefix>/sessions/<session>/runs/<run>/``:

- ``meta``: the run's ``<run>.json``, byte for byte (pid, host, command as shown, start);
- ``log/<n:08d>``: output chunk ``n`` (1-based), the bytes of ``<run>.log`` from the byte
  ``offset`` in its metadata on; the log is already secret-masked by the wrapper, and a chunk
  holds exactly what the local file holds;
- ``exit``: the run's ``<run>.exit``, byte for byte, put after every chunk up to it (its metadata
  says how many: ``chunks``, ``bytes``).

Each object is written once, put-if-absent (``If-None-Match: *``) with S3's SHA-256 checksum and
the SHA-256 in its metadata, by the run's own uploader (``run_upload.py``). A reader checks every
object (SHA-256, number, offset): a mismatch or a gap is ``SharedRunDamaged`` naming the key,
never skipped, so a reader never sees torn or reordered output.

``RunMirror`` keeps a local copy of what the store holds, named as the run's own files are
(``<run>.json``, ``<run>.log``, and ``<run>.exit`` last, once every chunk before it is in), so
the runner's ``follow_log``/``run_status``/``tail_lines`` work on it unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsdeploy_tui.session.shared.bucket import Bucket, Missing, Precondition
from rsdeploy_tui.session.shared.objects import SHA_META, SharedJournalDamaged

_CHUNK_NAME = re.compile(r"^\d{8}$")


class SharedRunDamaged(SharedJournalDamaged):
    """A run's object in the store is not what its uploader wrote (checksum, gap, offset)."""


def run_prefix(bucket: Bucket, session_id: str, run_id: str) -> str:
    """The key prefix of one run's objects (ends with ``/``)."""
    return bucket.url.key("sessions", session_id, "runs", run_id) + "/"


def meta_key(bucket: Bucket, session_id: str, run_id: str) -> str:
    return run_prefix(bucket, session_id, run_id) + "meta"


def exit_key(bucket: Bucket, session_id: str, run_id: str) -> str:
    return run_prefix(bucket, session_id, run_id) + "exit"


def chunk_key(bucket: Bucket, session_id: str, run_id: str, number: int) -> str:
    return run_prefix(bucket, session_id, run_id) + f"log/{number:08d}"


def sha_meta(body: bytes, **extra: str) -> dict[str, str]:
    """Object metadata: the body's SHA-256 (hex) and ``extra``."""
    return {SHA_META: hashlib.sha256(body).hexdigest(), **extra}


def put_once(bucket: Bucket, key: str, body: bytes, metadata: dict[str, str]) -> None:
    """Put-if-absent; a 412 whose object is byte-identical was this writer's own earlier attempt
    (its answer was lost). Anything else there is ``SharedRunDamaged``: nothing is overwritten.
    """
    try:
        bucket.put_new(key, body, metadata)
        return
    except Precondition:
        pass
    try:
        theirs, _etag, _meta = bucket.get(key)
    except Missing:
        theirs = None
    if theirs != body:
        raise SharedRunDamaged(
            "Shared run output conflict",
            f"s3://{bucket.url.bucket}/{key} already holds other bytes than this run's; "
            "nothing was overwritten. The run's local files are its record.")


def _where(bucket: Bucket, key: str) -> str:
    return f"s3://{bucket.url.bucket}/{key}"


def _checked(bucket: Bucket, key: str) -> tuple[bytes, dict[str, str]]:
    """(body, metadata) of ``key`` after checking its SHA-256; ``Missing`` when absent."""
    body, _etag, metadata = bucket.get(key)
    expected = metadata.get(SHA_META, "")
    actual = hashlib.sha256(body).hexdigest()
    if expected != actual:
        raise SharedRunDamaged(
            "Shared run output damaged",
            f"{_where(bucket, key)}: its SHA-256 is {actual[:16]}…, not the "
            f"{expected[:16] or '(none)'}… recorded when it was written: the object was changed "
            "or corrupted in the store. Nothing was taken from it or after it.")
    return body, metadata


def _json(bucket: Bucket, key: str, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SharedRunDamaged("Shared run output damaged",
                               f"{_where(bucket, key)} is not a run record (JSON object).")
    return data


class RunMirror:
    """This machine's copy of another machine's run, brought up to the store by ``poll``."""

    def __init__(self, bucket: Bucket, session_id: str, run_id: str, directory: Path) -> None:
        self.bucket = bucket
        self.session_id = session_id
        self.run_id = run_id
        self.directory = directory
        self.meta: dict[str, Any] | None = None
        self.exit: dict[str, Any] | None = None
        """The exit record, once it is in the store *and* every chunk before it is here."""
        self.chunks = 0
        """Chunks copied so far."""
        self.bytes = 0
        """Bytes of output copied so far."""
        self.last_output: str | None = None
        """When the newest chunk was read on the running machine (its uploader's clock)."""
        self.log_path = directory / f"{run_id}.log"
        self.exit_path = directory / f"{run_id}.exit"
        self.meta_path = directory / f"{run_id}.json"

    @property
    def complete(self) -> bool:
        """The exit record is here: the run is over and its output up to the end is copied."""
        return self.exit is not None

    def reset(self) -> None:
        """Start the copy afresh (a copy an earlier process left is never appended to twice);
        call before anything follows the mirror's log."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in (self.exit_path, self.log_path, self.meta_path):
            path.unlink(missing_ok=True)
        self.meta = self.exit = None
        self.chunks = self.bytes = 0
        self.last_output = None

    def poll(self) -> bool:
        """One look at the store (blocking; call in a thread). True when something was new.

        Raises:
            SharedRunDamaged: an object fails its checks (the key is named).
            Unreachable, RsdeployError: the store cannot be read now (call again later).
        """
        if self.exit is not None:
            return False
        new = False
        if self.meta is None:
            key = meta_key(self.bucket, self.session_id, self.run_id)
            try:
                body, _meta = _checked(self.bucket, key)
            except Missing:
                body = None
            if body is not None:
                self.meta = _json(self.bucket, key, body)
                _write_atomic(self.meta_path, body)
                new = True
        # The exit is looked at before the chunks: every chunk it counts was put before it,
        # so the listing that follows holds them all (S3 lists what it has acknowledged).
        key = exit_key(self.bucket, self.session_id, self.run_id)
        try:
            exit_body, exit_meta = _checked(self.bucket, key)
        except Missing:
            exit_body, exit_meta = None, {}
        new = self._copy_chunks() or new
        if exit_body is None:
            return new
        record = _json(self.bucket, key, exit_body)
        wanted = _number(exit_meta.get("chunks", ""), key, self.bucket)
        if self.chunks < wanted:
            raise SharedRunDamaged(
                "Shared run output damaged",
                f"{_where(self.bucket, key)} counts {wanted} output chunks but the store lists "
                f"only {self.chunks} before it: chunk {self.chunks + 1} is missing (a gap). "
                "The run is not shown as ended.")
        _write_atomic(self.exit_path, exit_body)
        self.exit = record
        return True

    def _copy_chunks(self) -> bool:
        prefix = run_prefix(self.bucket, self.session_id, self.run_id) + "log/"
        after = chunk_key(self.bucket, self.session_id, self.run_id, self.chunks) \
            if self.chunks else ""
        names = [k[len(prefix):] for k in self.bucket.keys(prefix, after)]
        numbers = sorted(int(n) for n in names if _CHUNK_NAME.match(n))
        copied = False
        for number in numbers:
            if number <= self.chunks:
                continue
            key = chunk_key(self.bucket, self.session_id, self.run_id, number)
            if number != self.chunks + 1:
                raise SharedRunDamaged(
                    "Shared run output damaged",
                    f"{_where(self.bucket, key)} follows chunk {self.chunks}: chunk "
                    f"{self.chunks + 1} is missing from the store (a gap). Nothing after the gap "
                    "was taken.")
            try:
                body, metadata = _checked(self.bucket, key)
            except Missing:
                raise SharedRunDamaged("Shared run output damaged",
                                       f"{_where(self.bucket, key)} was listed but could not be "
                                       "read.") from None
            offset = _number(metadata.get("offset", ""), key, self.bucket)
            if offset != self.bytes:
                raise SharedRunDamaged(
                    "Shared run output damaged",
                    f"{_where(self.bucket, key)} starts at byte {offset} of the output, where "
                    f"{self.bytes} was expected: the chunks do not follow each other.")
            with open(self.log_path, "ab") as fh:
                fh.write(body)
            self.chunks = number
            self.bytes += len(body)
            self.last_output = metadata.get("at") or self.last_output
            copied = True
        return copied

    def quiet_s(self, now: datetime | None = None) -> float | None:
        """Seconds since the running machine last read output (since the start when it has
        printed nothing yet); None when unknown."""
        moment = self.last_output or (self.meta or {}).get("started")
        if not isinstance(moment, str):
            return None
        try:
            then = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return None
        if then.tzinfo is None:
            then = then.replace(tzinfo=UTC)
        return max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())


def _number(text: str, key: str, bucket: Bucket) -> int:
    if not text.isdigit():
        raise SharedRunDamaged("Shared run output damaged",
                               f"{_where(bucket, key)} has no readable chunk count/offset in its "
                               "metadata; it was not written by a run uploader.")
    return int(text)


def _write_atomic(path: Path, body: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as fh:
        fh.write(body)
    os.replace(temporary, path)
