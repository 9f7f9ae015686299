"""The small process that owns one detached run (stdlib only; started by file path).

``detached.start_run`` executes this file with ``python -I``: it must not import the rsdeploy_tui
package, so it works whatever the app's import path was and keeps working after the app is gone.
It loads one sibling file by path, ``session/redact.py`` (stdlib only), so the log gets the same
secret-shaped-text masking as everything else the app writes.

Usage: ``wrapper.py RUN_DIR RUN_ID CWD -- COMMAND`` (CWD may be empty). Settings that must not show
in ``ps`` come through the environment and are removed before the command starts:
``RSDEPLOY_RUN_DISPLAY`` (the command as the operator sees it, secrets already masked) and
``RSDEPLOY_RUN_SECRETS`` (comma-separated NAMES of environment variables whose values are masked
in the log; the values themselves are only in the environment) and ``RSDEPLOY_RUN_MASK`` (a JSON
list of further values to mask: vars holding a token or a URL password).

``RSDEPLOY_RUN_SHARE`` (JSON: the session's shared store, endpoint, region, the app's
interpreter and import path) makes it start the run's uploader first
(``session/shared/run_upload.py``, which can import boto3): the run's meta, output chunks and
exit record go to the store from a process of the run's own, not the app's.

What it does:
1. Forks; the first process prints the wrapper's pid on stdout and exits, so the app reaps it at
   once and the wrapper is re-parented away from the app (the app dying cannot take it along).
2. The wrapper calls ``setsid()``: it leads its own session and process group, which the command
   shares — cancelling signals that group. It ignores SIGHUP and survives SIGINT/SIGTERM aimed at
   the group (no-op handlers, reset to default in the command by ``exec``).
3. Writes ``<id>.json`` (pid, pgid, start time, command), runs ``bash -c COMMAND`` with stdin from
   /dev/null and stdout+stderr into a pipe, masks secret values and appends to ``<id>.log``.
   Fail-fast by default (``runner/steps.py``: ``set -eE -o pipefail`` and a trap that names the
   failing line in ``<id>.err``); ``RSDEPLOY_RUN_FAIL_FAST=0`` (``continue_on_error``) runs the
   text as it is. A log that cannot be written (full disk) drops output with a count; the
   command goes on (``runner/runlog.py``).
4. When the command ends and its output is drained, writes ``<id>.exit`` atomically (into space
   reserved at start, retried until it is written), with ``failed`` (the failing line),
   ``output_dropped`` and ``background`` (processes still holding the output ``LINGER_S`` after
   the shell ended: the run is over, they are named, their output still goes to the log).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MASK = b"****"
# Secrets shorter than this are not masked: masking "ab" would shred ordinary output.
MIN_SECRET_LEN = 4
IDLE_FLUSH_S = 2.0
"""A partial line held back is written after this much silence (a prompt or progress text shows
up), all but a tail that could be the start of a secret: that waits for the rest."""
CHUNK = 65536
LINGER_S = 1.0
"""After the shell ends, how long its output may stay open (a background child holding it)
before the run is recorded as ended, with the lingering processes named."""
_CONTROL_BYTES = re.compile(  # as session.redact's: sequences and C0 controls but \t \n
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
    rb"|[\x00-\x08\x0b-\x1f\x7f]")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: Any) -> None:
    """Temp file + fsync + rename + directory fsync: readers never see half a file.

    Shared by the wrapper, detached runs and built-in actions (results, specs); values JSON
    cannot hold (datetimes, paths) are written as text.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), or None off Linux."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    rest = stat[stat.rfind(")") + 2 :].split()
    return rest[19] if len(rest) > 19 else None


def _load_redactor(names: list[str]) -> Any:
    """The session layer's Redactor, loaded by file path (the package is not importable here)."""
    path = Path(__file__).resolve().parent.parent / "session" / "redact.py"
    spec = importlib.util.spec_from_file_location("_rsdeploy_run_redact", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing look the module up by name
    spec.loader.exec_module(module)
    return module.Redactor(names)


def _mask_values(text: str) -> list[str]:
    """The extra values to mask, from ``RSDEPLOY_RUN_MASK`` (a JSON list of strings)."""
    try:
        values = json.loads(text) if text else []
    except ValueError:
        return []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


class SecretMask:
    """Masks secret values in a byte stream even when a value is split across reads."""

    def __init__(self, values: list[bytes]) -> None:
        values = sorted({v for v in values if len(v) >= MIN_SECRET_LEN}, key=len, reverse=True)
        self.pattern = re.compile(b"|".join(re.escape(v) for v in values)) if values else None
        # the values as a screen shows them (control sequences stripped), for ``idle``
        self.plain = [_CONTROL_BYTES.sub(b"", v) for v in values]
        self.hold = max((len(v) for v in values), default=1) - 1
        # A one-line secret cannot span a newline: everything up to the last newline is safe.
        self.one_line = not any(b"\n" in v for v in values)

    def idle(self, buf: bytes) -> tuple[bytes, bytes]:
        """After a pause: (masked bytes to write now, bytes to keep back).

        Everything is written except a tail that could be the start of a secret (what is left
        of the line, with control sequences ignored, is a proper prefix of a value): a program
        that pauses half-way through printing a secret gets it masked when the rest comes.
        """
        if self.pattern is None or not buf:
            return buf, b""
        line_start = buf.rfind(b"\n") + 1
        # escape sequences may sit inside the prefix: allow for them beyond the value's length
        first = max(line_start, len(buf) - 4 * (self.hold + 1) - 64)
        for start in range(first, len(buf)):
            tail = _CONTROL_BYTES.sub(b"", buf[start:])
            if tail and any(len(tail) < len(v) and v.startswith(tail) for v in self.plain):
                out, _ = self.feed(buf[:start], final=True)
                return out, buf[start:]
        return self.feed(buf, final=True)

    def feed(self, buf: bytes, *, final: bool) -> tuple[bytes, bytes]:
        """Returns (masked bytes safe to write, raw bytes to keep until more data arrives).

        The last ``hold`` bytes are kept back unless ``final``: a secret that begins there may
        be completed by the next read. A match that starts before the cut is already complete.
        Complete lines are never held (unless a secret itself spans lines).
        """
        if self.pattern is None:
            return buf, b""
        if final:
            return self.pattern.sub(MASK, buf), b""
        cut = len(buf) - self.hold
        if self.one_line:
            cut = max(cut, buf.rfind(b"\n") + 1)
        if cut <= 0:
            return b"", buf
        out: list[bytes] = []
        pos = 0
        for match in self.pattern.finditer(buf):
            if match.start() >= cut:
                break
            out.append(buf[pos : match.start()])
            out.append(MASK)
            pos = match.end()
        cut = max(cut, pos)
        out.append(buf[pos:cut])
        return b"".join(out), buf[cut:]


def _reap_strays(deadline_s: float = 1.0) -> None:
    """Reap descendants re-parented to us (we are a subreaper) that have exited or are exiting."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def _become_subreaper() -> None:
    """Orphaned grandchildren are re-parented to the wrapper, which reaps them (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _load_sibling(relative: str, name: str) -> Any:
    """A stdlib-only module of the package, loaded by file path (the package is not importable
    here)."""
    path = Path(__file__).resolve().parent.parent / relative
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing look the module up by name
    spec.loader.exec_module(module)
    return module


def _write_exit(runlog: Any, exit_path: Path, reserved: Path, data: dict[str, Any]) -> None:
    """Write the exit record, retrying until the disk takes it (the record is held meanwhile).

    It goes into ``reserved`` (space taken at start, so a full disk does not stop it), which
    then replaces ``<id>.exit`` atomically.
    """
    delay = 0.5
    while True:
        try:
            runlog.write_reserved(reserved, data)
            os.replace(reserved, exit_path)
            with contextlib.suppress(OSError):
                dir_fd = os.open(exit_path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            return
        except OSError:
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def run(run_dir: Path, run_id: str, cwd: str, command: str, ready_fd: int) -> int:
    """The wrapper proper (already in its own session). Returns the command's exit code."""
    display = os.environ.pop("RSDEPLOY_RUN_DISPLAY", command)
    names = [n for n in os.environ.pop("RSDEPLOY_RUN_SECRETS", "").split(",") if n]
    fail_fast = os.environ.pop("RSDEPLOY_RUN_FAIL_FAST", "1") != "0"
    extra = _mask_values(os.environ.pop("RSDEPLOY_RUN_MASK", ""))
    # Values of secret variables are masked byte-exactly by SecretMask (even split across reads);
    # the Redactor then masks their other forms and secret-shaped text (password=..., AWS keys).
    redactor = _load_redactor(names)
    redactor.add_values(extra)
    shown = display
    display = redactor.text(display)
    # environb: values that are not valid UTF-8 are masked byte for byte too.
    mask = SecretMask([os.environb[n.encode()] for n in names if os.environb.get(n.encode())]
                      + [value.encode("utf-8", "surrogateescape") for value in extra])
    steps = _load_sibling("runner/steps.py", "_rsdeploy_run_steps")
    proctree = _load_sibling("runner/proctree.py", "_rsdeploy_run_proctree")
    runlog = _load_sibling("runner/runlog.py", "_rsdeploy_run_runlog")
    log_path = run_dir / f"{run_id}.log"
    exit_path = run_dir / f"{run_id}.exit"
    err_path = run_dir / f"{run_id}.err"
    drop_path = run_dir / f"{run_id}.drop"
    reserved = run_dir / f".{run_id}.exit.tmp"
    # Space for the exit record and the drop note, taken while the disk still has room.
    runlog.reserve(reserved)
    runlog.reserve(drop_path, 512)
    writer = runlog.RunLog(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                           drop_path)

    def log(data: bytes) -> None:
        if data:
            text = data.decode("utf-8", "surrogateescape")
            data = redactor.text(text).encode("utf-8", "surrogateescape")
        writer.write(data)

    started = _now()
    pid = os.getpid()
    write_json_atomic(
        run_dir / f"{run_id}.json",
        {
            "run": run_id,
            "pid": pid,
            "pgid": os.getpgid(0),
            "proc_start": proc_start_time(pid),
            "command": display,
            "cwd": cwd or None,
            "started": started,
            "fail_fast": fail_fast,
            "host": socket.gethostname(),  # another machine shows "running on <host>"
        },
    )
    os.write(ready_fd, f"{pid}\n".encode())
    os.close(ready_fd)

    t0 = time.monotonic()
    exit_code: int
    sig_name: str | None = None
    ended_extra: dict[str, Any] = {}
    script = steps.fail_fast_script(command, err_path) if fail_fast else command
    try:
        child = subprocess.Popen(
            ["/bin/bash" if os.path.exists("/bin/bash") else "bash", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd or None,
        )
    except OSError as exc:
        log(f"rsdeploy-tui: could not start the command: {exc}\n".encode())
        exit_code = 127
    else:
        assert child.stdout is not None
        fd = child.stdout.fileno()
        pending = b""
        shell_ended: float | None = None
        returncode: int | None = None
        while True:
            wait_s = IDLE_FLUSH_S if shell_ended is None else 0.2
            ready, _, _ = select.select([fd], [], [], wait_s)
            if ready:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                out, pending = mask.feed(pending + chunk, final=False)
                log(out)
            elif pending:
                # Output paused in mid-line (a prompt, a progress bar): show what we have.
                out, pending = mask.idle(pending)
                log(out)
            if returncode is None:
                returncode = child.poll()
                if returncode is not None:
                    shell_ended = time.monotonic()
            elif shell_ended is not None and time.monotonic() - shell_ended >= LINGER_S:
                # The shell has ended but something it started still holds the output: the
                # run is over (its exit is known); record it now and name what lingers.
                break
        out, pending = mask.feed(pending, final=True)
        log(out)
        if returncode is None:
            returncode = child.wait()
        if returncode < 0:
            sig_name = signal.Signals(-returncode).name
            exit_code = 128 - returncode
        else:
            exit_code = returncode
        lingering = proctree.descendants(pid)
        if lingering:
            ended_extra["background"] = [redactor.text(proctree.describe(p))
                                         for p in lingering[:5]]
        else:
            _reap_strays()
        if fail_fast:
            failed = steps.read_failure(err_path, command, shown, exit_code)
            if failed is not None:
                failed["text"] = redactor.text(failed["text"])
                ended_extra["failed"] = failed
    if not ended_extra.get("background"):
        writer.close()
    if writer.dropped_total:
        ended_extra["output_dropped"] = {"bytes": writer.dropped_total, "reason": writer.reason}
    _write_exit(
        runlog,
        exit_path,
        reserved,
        {
            "exit_code": exit_code,
            "signal": sig_name,
            "ended": _now(),
            "duration_s": round(time.monotonic() - t0, 3),
            **ended_extra,
        },
    )
    if ended_extra.get("background"):
        # Keep the rest of their output in the log (nothing is lost), then reap them.
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, CHUNK):
                out, pending = mask.feed(pending + chunk, final=False)
                log(out)
            out, _ = mask.feed(pending, final=True)
            log(out)
        writer.close()
        _reap_strays()
    return exit_code


def _start_uploader(run_dir: Path, run_id: str, share: str) -> None:
    """Start the run's uploader (``session/shared/run_upload.py``) outside the run's process
    tree: forked through a short-lived middle process before the wrapper becomes a subreaper,
    in its own session, so cancelling the run (which signals the wrapper's descendants) never
    stops the upload of its end and it is never named as a process the run left behind.

    It gets this environment minus the run's settings and the secret values meant for the
    command (AWS credentials stay: it needs them). Any failure here only costs the upload.
    """
    try:
        config = json.loads(share)
        python, path = str(config["python"]), str(config["path"])
    except (ValueError, KeyError, TypeError):
        return
    secrets = {n for n in os.environ.get("RSDEPLOY_RUN_SECRETS", "").split(",")
               if n and not n.startswith("AWS_")}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RSDEPLOY_RUN_") and k not in secrets}
    env["RSDEPLOY_RUN_SHARE"] = share
    env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
    middle = os.fork()
    if middle == 0:
        try:
            with open(run_dir / f".{run_id}.upload.err", "ab") as err:
                subprocess.Popen(
                    [python, "-m", "rsdeploy_tui.session.shared.run_upload", str(run_dir),
                     run_id],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                    start_new_session=True)
        finally:
            os._exit(0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(middle, 0)


def _noop(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM to the group are meant for the command; the wrapper stays to record it."""


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: wrapper.py RUN_DIR RUN_ID CWD -- COMMAND", file=sys.stderr)
        return 2
    run_dir, run_id, cwd, command = Path(argv[0]), argv[1], argv[2], argv[4]
    ready_fd = os.dup(1)  # the app reads the wrapper's pid from here, then sees EOF
    if os.fork() > 0:
        # The launcher: exit at once so the app reaps it; the pid line comes from the wrapper.
        os._exit(0)
    os.setsid()
    # SIG_IGN is inherited through exec: the command is immune to hang-ups too, like nohup.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, _noop)
    signal.signal(signal.SIGTERM, _noop)
    # Detach the standard streams from the app's pipes and terminal.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    share = os.environ.pop("RSDEPLOY_RUN_SHARE", "")
    if share:
        with contextlib.suppress(OSError):
            _start_uploader(run_dir, run_id, share)
    _become_subreaper()
    try:
        return run(run_dir, run_id, cwd, command, ready_fd)
    except Exception as exc:  # last resort: leave a trace where the operator looks
        with contextlib.suppress(OSError):
            with open(run_dir / f"{run_id}.log", "a", encoding="utf-8") as fh:
                fh.write(f"rsdeploy-tui wrapper failed: {type(exc).__name__}: {exc}\n")
            write_json_atomic(
                run_dir / f"{run_id}.exit",
                {"exit_code": 125, "signal": None, "ended": _now(), "error": str(exc)},
            )
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
