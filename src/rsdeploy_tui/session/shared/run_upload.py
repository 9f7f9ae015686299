"""The uploader a detached run's wrapper starts: the run's meta, output and exit go to the store.

The wrapper (``runner/wrapper.py``, stdlib only, ``python -I``) cannot import boto3, so when the
session has a shared store it starts this module with the app's interpreter, non-isolated::

    python -m rsdeploy_tui.session.shared.run_upload RUN_DIR RUN_ID

The store, endpoint and region come in ``RSDEPLOY_RUN_SHARE`` (JSON, from ``settings``), never in
argv. It runs in its own session, outside the run's process tree (the wrapper double-forks it
before it becomes a subreaper): cancelling the run never stops the upload of its end, it is never
named as a process left behind, and it goes on when the app is gone (kill -9, SSH drop). It
only reads the run's files, so the run is never slowed or failed by it (it also runs niced).

What it uploads (``run_objects.py``): ``meta`` once, then the log in numbered chunks, one every
``CHUNK_S`` while output comes (more at once when catching up, at most ``MAX_CHUNK`` each), and
``exit`` once the log is drained after the exit record appeared. A chunk, once tried, is retried
with exactly the same bytes (its first attempt may have landed). While the store does not
answer it backs off (``BACKOFF_S``) and catches up in order. It ends when the exit record is up
and the wrapper is gone, or ``give_up_s`` after the run ended if the store still refuses (the
local files stay the record), or ``LOST_WAIT_S`` after the wrapper vanished without an exit.
``<run>.upload`` (JSON ``{state, chunks, bytes, error, updated}``) says where it stands:
``uploading``, ``offline``, ``done``, ``gave_up``, ``lost`` or ``failed``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError

if TYPE_CHECKING:
    from rsdeploy_tui.session.shared.bucket import Bucket

ENV = "RSDEPLOY_RUN_SHARE"
POLL_S = 0.5
"""How often the run's files are looked at."""
CHUNK_S = 1.0
"""At most one chunk per this many seconds while output comes (a viewer is ~1-2 s behind)."""
MAX_CHUNK = 4 * 1024 * 1024
"""Largest chunk (a flood, or catching up after an offline spell, makes several)."""
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
"""Waits between attempts while the store does not answer (the last one repeats)."""
GIVE_UP_S = 1800.0
"""After the run ended, how long a store that does not answer is retried."""
LOST_WAIT_S = 30.0
"""The wrapper gone without an exit record: how long to wait for one (cancel writes it)."""
META_WAIT_S = 30.0
STATUS_SUFFIX = ".upload"


def settings(shared_store: Any, session_id: str, give_up_s: float = GIVE_UP_S) -> dict[str, Any]:
    """What a run's wrapper needs to start its uploader (``start_run(share=...)``): the store,
    the endpoint and region this app's client uses, the interpreter and import path."""
    bucket = shared_store.bucket
    import rsdeploy_tui

    return {"store": str(shared_store.url), "session": session_id,
            "endpoint": bucket.endpoint, "region": bucket.region,
            "python": sys.executable, "path": str(Path(rsdeploy_tui.__file__).parents[1]),
            "give_up_s": give_up_s}


def read_status(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The uploader's last word on a run (None: no uploader, or it has not written yet)."""
    try:
        data = json.loads((run_dir / f"{run_id}{STATUS_SUFFIX}").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_status(run_dir: Path, run_id: str, state: str, error: str | None,
                 **counts: Any) -> None:
    """``<run>.upload``, atomically (a status that cannot be written changes nothing)."""
    from rsdeploy_tui.runner.wrapper import write_json_atomic

    with contextlib.suppress(OSError):
        write_json_atomic(run_dir / f"{run_id}{STATUS_SUFFIX}",
                          {"state": state, "error": error, **counts, "updated": _now(),
                           "pid": os.getpid()})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunUploader:
    """Uploads one run's files as they grow (the loop of the uploader process)."""

    def __init__(self, bucket: Bucket, session_id: str, run_dir: Path, run_id: str,
                 give_up_s: float = GIVE_UP_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from rsdeploy_tui.session.shared import run_objects as objects

        self.objects = objects
        self.bucket = bucket
        self.session_id = session_id
        self.run_dir = run_dir
        self.run_id = run_id
        self.give_up_s = give_up_s
        self.clock = clock
        self.sleep = sleep
        self.log_path = run_dir / f"{run_id}.log"
        self.exit_path = run_dir / f"{run_id}.exit"
        self.meta_path = run_dir / f"{run_id}.json"
        self.meta: dict[str, Any] | None = None
        self.meta_up = False
        self.exit_up = False
        self.chunks = 0
        self.offset = 0
        self.pending: tuple[int, int, bytes] | None = None
        """The chunk being put: (number, offset, bytes); retried as it is until it lands."""
        self.last_chunk = -CHUNK_S
        self.ended_at: float | None = None
        """When the run was first seen over (exit record, or wrapper gone)."""
        self.lost_at: float | None = None
        self.state = ""
        self.error: str | None = None

    # -- status ----------------------------------------------------------------------------
    def _say(self, state: str, error: str | None = None) -> None:
        if (state, error) == (self.state, self.error):
            return
        self.state, self.error = state, error
        write_status(self.run_dir, self.run_id, state, error, chunks=self.chunks,
                     bytes=self.offset, exit=self.exit_up)

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> str:
        """Upload until the run's end is in the store (or give up); the final state."""
        from rsdeploy_tui.session.shared.bucket import Unreachable

        deadline = self.clock() + META_WAIT_S
        while (meta := _read_json(self.meta_path)) is None:
            if self.clock() > deadline:
                self._say("failed", f"the run's {self.meta_path.name} never appeared")
                return self.state
            self.sleep(0.05)
        self.meta = meta
        self._say("uploading")
        attempt = 0
        while True:
            try:
                busy = self.step()
            except self.objects.SharedRunDamaged as error:
                self._say("failed", f"{error.title}: {error.message}")
                return self.state
            except (Unreachable, RsdeployError) as error:
                self._say("offline", error.message)
                if self.ended_at is not None and self.clock() - self.ended_at > self.give_up_s:
                    self._say("gave_up", f"{error.message} Gave up {self.give_up_s:g} s after "
                              "the run ended; its local files are the record.")
                    return self.state
                self.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            if self.state in ("done", "lost"):
                return self.state
            if self.state == "offline":
                self._say("uploading")
            if not busy:
                self.sleep(POLL_S)

    def step(self) -> bool:
        """One round: put what is due. True when more may be due at once (catching up)."""
        objects, bucket = self.objects, self.bucket
        # the exit record first, then the size: once it exists the log before it is complete
        exit_seen = self.exit_path.exists()
        alive = self._wrapper_alive()
        size = _size(self.log_path)
        now = self.clock()
        over = exit_seen or not alive
        if over and self.ended_at is None:
            self.ended_at = now  # from here on, a store that does not answer is given up on
        if not self.meta_up:
            body = self.meta_path.read_bytes()
            objects.put_once(bucket, objects.meta_key(bucket, self.session_id, self.run_id),
                             body, objects.sha_meta(body))
            self.meta_up = True
        if self.pending is None and size > self.offset and (now - self.last_chunk >= CHUNK_S
                                                            or over):
            with open(self.log_path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(min(size - self.offset, MAX_CHUNK))
            self.pending = (self.chunks + 1, self.offset, data)
        if self.pending is not None:
            number, offset, data = self.pending
            objects.put_once(bucket, objects.chunk_key(bucket, self.session_id, self.run_id,
                                                       number),
                             data, objects.sha_meta(data, offset=str(offset), at=_now()))
            self.pending = None
            self.chunks, self.offset = number, offset + len(data)
            self.last_chunk = now
            return self.offset < size
        if exit_seen and not self.exit_up:
            body = self.exit_path.read_bytes()
            objects.put_once(bucket, objects.exit_key(bucket, self.session_id, self.run_id),
                             body, objects.sha_meta(body, chunks=str(self.chunks),
                                                    bytes=str(self.offset)))
            self.exit_up = True
            self._say("uploading")
        if not alive and self.offset >= _size(self.log_path):
            if self.exit_up:
                self._say("done")
            else:
                self.lost_at = self.lost_at if self.lost_at is not None else now
                if now - self.lost_at > LOST_WAIT_S:
                    self._say("lost", "the run's wrapper is gone without an exit record")
        return False

    def _wrapper_alive(self) -> bool:
        from rsdeploy_tui.runner.detached import _alive

        meta = self.meta or {}
        pid = meta.get("pid")
        return isinstance(pid, int) and _alive(pid, meta.get("proc_start"))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def main(argv: list[str]) -> int:
    """``run_upload RUN_DIR RUN_ID`` with ``RSDEPLOY_RUN_SHARE`` in the environment."""
    if len(argv) != 2:
        print("usage: python -m rsdeploy_tui.session.shared.run_upload RUN_DIR RUN_ID",
              file=sys.stderr)
        return 2
    run_dir, run_id = Path(argv[0]), argv[1]
    with contextlib.suppress(OSError):
        os.nice(10)  # the run comes first
    try:
        config = json.loads(os.environ.pop(ENV, "") or "{}")
        from rsdeploy_tui.session.shared.bucket import Bucket
        from rsdeploy_tui.session.shared.url import parse_store_url

        url = parse_store_url(str(config["store"]), ENV)
        bucket = Bucket(url, {"aws_endpoint_url": str(config.get("endpoint") or ""),
                              "aws_region": str(config.get("region") or "")})
        uploader = RunUploader(bucket, str(config["session"]), run_dir, run_id,
                               give_up_s=float(config.get("give_up_s", GIVE_UP_S)))
        state = uploader.run()
    except Exception as error:  # noqa: BLE001 - said in the status file, where the app looks
        message = error.message if isinstance(error, RsdeployError) else \
            f"{type(error).__name__}: {error}"
        write_status(run_dir, run_id, "failed", message)
        return 1
    return 0 if state == "done" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
