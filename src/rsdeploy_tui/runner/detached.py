"""Detached runs: an item's command keeps running when the app or the SSH link dies.

Each run lives in three files in the session's run directory, all named by the run id:
``<id>.log`` (output, secret values masked), ``<id>.json`` (pid, pgid, command, start) and
``<id>.exit`` (exit code and end time, written atomically when the command ends). Everything
the app needs after a restart is in those files; nothing depends on the app's own process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.runner.proctree import descendants
from rsdeploy_tui.runner.runlog import read_note
from rsdeploy_tui.runner.wrapper import proc_start_time, write_json_atomic
from rsdeploy_tui.session.redact import ALWAYS_SECRET

WRAPPER = Path(__file__).resolve().with_name("wrapper.py")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


class RunError(RsdeployError):
    """A run could not be started or found."""


@datarecord(frozen=True)
class RunHandle:
    """A started run and where its files are."""

    run_id: str
    """Unique within the session directory; names the three files."""
    pid: int
    """The wrapper's pid (it leads the process group the command runs in)."""
    pgid: int
    """Process group of the wrapper, the command and everything the command starts."""
    command: str
    """The command as shown to the operator (secrets masked)."""
    started: str
    """UTC ISO-8601 start time."""
    log_path: Path
    """Output of the command (stdout and stderr), secret values masked."""
    exit_path: Path
    """Appears, complete, when the command has ended."""
    meta_path: Path
    """JSON metadata written by the wrapper before the command starts."""


@datarecord(frozen=True)
class RunStatus:
    """What the files and the process table say about a run now."""

    running: bool
    """True while the wrapper (hence the command or its output) is alive."""
    exit_code: int | None
    """Exit code once ended; 128+N when killed by signal N; None if unknown."""
    ended_at: str | None
    """UTC ISO-8601 end time from the exit file."""
    pid: int | None
    """The wrapper's pid (None if the metadata file is missing)."""
    signal: str | None = None
    """Name of the signal that ended the command (``SIGINT`` ...), if any."""
    lost: bool = False
    """The wrapper is gone but left no exit file (killed with SIGKILL, machine rebooted)."""
    failed: dict[str, Any] | None = None
    """The line that failed, ``{step, of, line, text, exit_code}`` (``steps.read_failure``)."""
    background: list[str] | None = None
    """Processes that still held the output when the shell ended (``sleep 300 (pid 42)``)."""
    output_dropped: dict[str, Any] | None = None
    """``{bytes, reason}`` when the log could not be written (full disk)."""


@datarecord(frozen=True)
class CancelOutcome:
    """Result of ``cancel_run``."""

    signal: str | None
    """The signal after which the process group was empty; None if it had already ended."""
    exit_code: int | None
    """The recorded exit code, when known."""


def paths(run_dir: Path, run_id: str) -> tuple[Path, Path, Path]:
    """The (log, exit, metadata) paths of one run."""
    return run_dir / f"{run_id}.log", run_dir / f"{run_id}.exit", run_dir / f"{run_id}.json"


def new_run_id(label: str) -> str:
    """A run id from a label (usually the item qid) and the current UTC time."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")[:60] or "run"
    return f"{slug}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')[:-3]}"


def start_run(
    run_dir: Path,
    command: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    run_id: str,
    display: str | None = None,
    secret_names: Iterable[str] = (),
    fail_fast: bool = True,
    mask_values: Iterable[str] = (),
    share: Mapping[str, Any] | None = None,
) -> RunHandle:
    """Start ``bash -c command`` detached from this process.

    Args:
        run_dir: Directory for the run's files (created if missing), normally under the session dir.
        command: Shell text to run; secret values must not be in it (refer to ``"${NAME}"``).
        env: Variables added to the current environment for the command (secret values go here).
        cwd: Working directory of the command (default: the app's).
        run_id: Unique name of the run in ``run_dir`` (see ``new_run_id``).
        display: The command as recorded in the metadata; defaults to ``command``.
        secret_names: Environment variable names whose values are masked in the log file
            (``session.redact.ALWAYS_SECRET`` names are always added).
        fail_fast: Stop at the first failing line or ``;``-separated command (``bash -e -o
            pipefail``) and record which it was (``RunStatus.failed``); False for an item with
            ``continue_on_error``.
        mask_values: Further values masked in the log file and metadata (vars that hold a
            token or a URL password: ``session.redactor.added_values()``); handed to the
            wrapper in its environment, which it removes before the command starts.
        share: The session's shared store (``session.shared.run_upload.settings``): the
            wrapper starts the run's uploader, which puts its meta, output and exit record in
            the store (through the environment, never argv). None: the run stays local.

    Raises:
        RunError: the id is unusable or already used, or the wrapper could not start.
    """
    if not _RUN_ID_RE.match(run_id):
        raise RunError("Bad run id", f"{run_id!r} cannot name a file; use letters, digits, . _ -")
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path, exit_path, meta_path = paths(run_dir, run_id)
    if meta_path.exists() or exit_path.exists():
        raise RunError("Run id in use", f"A run named {run_id} already exists in {run_dir}.")
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["RSDEPLOY_RUN_DISPLAY"] = display if display is not None else command
    child_env["RSDEPLOY_RUN_SECRETS"] = ",".join(dict.fromkeys([*ALWAYS_SECRET, *secret_names]))
    child_env["RSDEPLOY_RUN_FAIL_FAST"] = "1" if fail_fast else "0"
    child_env["RSDEPLOY_RUN_MASK"] = json.dumps(list(mask_values))
    child_env.pop("RSDEPLOY_RUN_SHARE", None)  # never a stale one from the app's environment
    if share is not None:
        child_env["RSDEPLOY_RUN_SHARE"] = json.dumps(dict(share))
    launcher = subprocess.Popen(
        [sys.executable, "-I", str(WRAPPER), str(run_dir), run_id, str(cwd or ""), "--", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
    )
    # The launcher exits at once; stdout closes when the wrapper has written its metadata.
    try:
        out, err = launcher.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        raise RunError(
            "Could not start the command", "The run wrapper did not report within 30 s."
        ) from None
    try:
        pid = int(out.decode().strip().splitlines()[0])
    except (ValueError, IndexError):
        detail = err.decode(errors="replace").strip() or "no output"
        raise RunError("Could not start the command", f"The run wrapper failed: {detail}") from None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return RunHandle(
        run_id=run_id,
        pid=pid,
        pgid=int(meta["pgid"]),
        command=str(meta["command"]),
        started=str(meta["started"]),
        log_path=log_path,
        exit_path=exit_path,
        meta_path=meta_path,
    )


def read_meta(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The run's metadata, or None if it has none (never started)."""
    try:
        data = json.loads(paths(run_dir, run_id)[2].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_exit(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The exit record, or None while the command runs (the file is written atomically)."""
    try:
        data = json.loads(paths(run_dir, run_id)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int, proc_start: Any) -> bool:
    """Is ``pid`` still our wrapper? A reused pid has a different start time in /proc."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process took the pid
    now_start = proc_start_time(pid)
    if now_start is not None and proc_start is not None and now_start != proc_start:
        return False
    return _state(pid) not in ("Z", "X", None) or now_start is None


def _state(pid: int) -> str | None:
    """Process state letter from /proc (``Z`` = zombie), None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def run_status(run_dir: Path, run_id: str) -> RunStatus:
    """What became of a run: still running, ended (with exit code), or lost."""
    meta = read_meta(run_dir, run_id)
    ended = read_exit(run_dir, run_id)
    pid = int(meta["pid"]) if meta and isinstance(meta.get("pid"), int) else None
    if ended is not None:
        code = ended.get("exit_code")
        failed, background, dropped = (ended.get(k) for k in ("failed", "background",
                                                               "output_dropped"))
        return RunStatus(
            running=False,
            exit_code=code if isinstance(code, int) else None,
            ended_at=str(ended.get("ended")) if ended.get("ended") else None,
            pid=pid,
            signal=str(ended["signal"]) if ended.get("signal") else None,
            failed=failed if isinstance(failed, dict) else None,
            background=[str(b) for b in background] if isinstance(background, list) else None,
            output_dropped=dropped if isinstance(dropped, dict) else None,
        )
    if pid is not None and meta is not None and _alive(pid, meta.get("proc_start")):
        return RunStatus(running=True, exit_code=None, ended_at=None, pid=pid)
    # No exit file: maybe the wrapper is writing it right now; look once more.
    ended = read_exit(run_dir, run_id)
    if ended is not None:
        return run_status(run_dir, run_id)
    return RunStatus(running=False, exit_code=None, ended_at=None, pid=pid, lost=True)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    return descendants(-1, pgid=pgid)


def run_processes(meta: Mapping[str, Any]) -> list[int]:
    """Every live process the run started: the wrapper's descendants (it is a subreaper, so
    orphans and ``setsid`` children are among them) and its process group, the wrapper not
    included (it must live to record the end)."""
    pid, pgid = int(meta["pid"]), int(meta["pgid"])
    wrapper_alive = _alive(pid, meta.get("proc_start"))
    found = descendants(pid, pgid=pgid) if wrapper_alive else descendants(-1, pgid=pgid)
    return [p for p in found if p != pid]


def _wait_gone(meta: Mapping[str, Any], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while True:
        if not run_processes(meta):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def cancel_run(run_dir: Path, run_id: str, grace: float = 3.0) -> CancelOutcome:
    """Stop a run and everything it started: SIGINT, then SIGTERM, then SIGKILL.

    Each signal goes to every process the run started (``run_processes``: its group and every
    descendant of the wrapper, ``setsid`` ones too) and gets ``grace`` seconds for them to end.
    The wrapper itself is never killed: it records the command's real end (exit code, signal).
    Only if the wrapper is gone already is the exit file written here, so the run is never left
    without an end.
    """
    meta = read_meta(run_dir, run_id)
    if meta is None:
        raise RunError("Unknown run", f"No run named {run_id} in {run_dir}.")
    status = run_status(run_dir, run_id)
    if not status.running and (status.exit_code is not None or not run_processes(meta)):
        # Ended (the exit file exists; the wrapper may still be on its way out): nothing to stop.
        return CancelOutcome(signal=None, exit_code=status.exit_code)
    ended_by: str | None = None
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        targets = run_processes(meta)
        if not targets:
            break
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            except PermissionError as exc:
                raise RunError("Cannot cancel",
                               f"Not allowed to signal run {run_id}: {exc}") from exc
        if _wait_gone(meta, grace):
            ended_by = sig.name
            break
    # The wrapper drains the output and writes the exit file; give it a moment.
    end = time.monotonic() + max(5.0, grace)
    while read_exit(run_dir, run_id) is None and time.monotonic() < end:
        if not _alive(int(meta["pid"]), meta.get("proc_start")):
            break
        time.sleep(0.02)
    ended = read_exit(run_dir, run_id)
    # The wrapper leaves right after its exit record: cancel returns when nothing is left.
    end = time.monotonic() + 5.0
    while _alive(int(meta["pid"]), meta.get("proc_start")) and time.monotonic() < end:
        time.sleep(0.02)
    if ended is None:
        killed = 128 + signal.SIGKILL.value
        write_json_atomic(
            paths(run_dir, run_id)[1],
            {
                "exit_code": killed,
                "signal": ended_by or "SIGKILL",
                "ended": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "note": "the run wrapper was gone; exit code recorded by cancel",
            },
        )
        return CancelOutcome(signal=ended_by, exit_code=killed)
    code = ended.get("exit_code")
    return CancelOutcome(signal=ended_by, exit_code=code if isinstance(code, int) else None)


def read_drop_note(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """While a run's log cannot be written: ``{dropping, dropped, reason}`` (None otherwise)."""
    note = read_note(run_dir / f"{run_id}.drop")
    return note if note and note.get("dropped") else None


def wait_run(run_dir: Path, run_id: str, timeout: float | None = None) -> RunStatus:
    """Block until the run ends (or ``timeout`` seconds pass) and return its status."""
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        status = run_status(run_dir, run_id)
        if not status.running or (end is not None and time.monotonic() >= end):
            return status
        time.sleep(0.05)
