"""Commands that need the operator's terminal (``eb ssh``, editors, an interactive ``psql``)."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.runner.steps import fail_fast_script, read_failure

# Programs that always take over the terminal.
_ALWAYS_TERMINAL = {
    "vi",
    "vim",
    "nvim",
    "nano",
    "emacs",
    "less",
    "more",
    "top",
    "htop",
    "man",
    "watch",
}
# Programs that are interactive unless told what to run.
_SHELLS = {"bash", "sh", "zsh", "python", "python3", "ipython"}
_SEPARATORS = {"&&", "||", ";", "|", "&"}
_PREFIXES = {"sudo", "env", "exec", "time", "nohup"}


def _is_assignment(word: str) -> bool:
    return "=" in word and not word.startswith("-")


def _words(command: str) -> list[list[str]]:
    """Split shell text into simple commands (good enough for a heuristic)."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = command.split()
    parts: list[list[str]] = [[]]
    for tok in tokens:
        if tok in _SEPARATORS:
            parts.append([])
        else:
            parts[-1].append(tok)
    # Drop leading VAR=value assignments, sudo and env.
    result = []
    for words in parts:
        while words and (_is_assignment(words[0]) or words[0] in _PREFIXES):
            words = words[1:]
        if words:
            result.append(words)
    return result


_SSH_OPTIONS_WITH_VALUE = set("BbcDEeFIiJLlmOopQRSWw")


def _ssh_operands(args: list[str]) -> list[str]:
    """The host and remote command words of an ``ssh`` command line (options skipped)."""
    operands: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif operands or not arg.startswith("-"):
            operands.append(arg)
        elif len(arg) == 2 and arg[1] in _SSH_OPTIONS_WITH_VALUE:
            skip = True
    return operands


def needs_terminal(command: str) -> bool:
    """Guess whether a command needs the operator's terminal (run with the app suspended).

    True for ``eb ssh`` without ``--command``/``-c``, ``eb health --refresh``, editors and pagers,
    ``psql``/``mysql`` without ``-c``/``-f``, ``ssh`` without a remote command, a bare shell,
    and ``python manage.py shell``/``dbshell``.
    """
    for words in _words(command):
        prog = Path(words[0]).name
        args = words[1:]
        if prog in _ALWAYS_TERMINAL:
            return True
        if prog == "eb" and args:
            sub = args[0]
            if sub == "ssh" and not any(
                a in ("--command", "-c") or a.startswith("--command=") for a in args
            ):
                return True
            if sub in ("health", "events") and any(
                a in ("--refresh", "-f", "--follow") for a in args
            ):
                return True
            if sub in ("console", "init", "config") and "--non-interactive" not in args:
                return True
        if prog in ("psql", "mysql", "sqlite3") and not any(
            a in ("-c", "-f", "--command", "--file", "-e") or a.startswith(("--command=", "-c"))
            for a in args
        ):
            return True
        if prog == "ssh" and len(_ssh_operands(args)) < 2:
            return True  # a host and no remote command: an interactive login
        if prog in _SHELLS and not args:
            return True
        if (
            prog.startswith("python")
            and args[:1] == ["manage.py"]
            and args[1:2] in (["shell"], ["dbshell"], ["createsuperuser"])
        ):
            return "-c" not in args and "--command" not in args
    return False


@datarecord(frozen=True)
class TerminalRun:
    """How an interactive run ended."""

    exit_code: int
    """The command's exit code; 128+N when killed by signal N."""
    failed: dict[str, Any] | None = None
    """The line that failed (``steps.read_failure``), when the run stopped at one."""
    log_path: Path | None = None
    """What the terminal session printed (secret values masked), when it was kept."""


def run_in_terminal(
    command: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    log_path: Path | None = None,
    fail_fast: bool = True,
    secret_names: Iterable[str] = (),
    redact: Callable[[str], str] | None = None,
) -> TerminalRun:
    """Run ``bash -c command`` on the operator's terminal; keep a copy of what it printed.

    The caller suspends the TUI first (``with app.suspend(): run_in_terminal(...)``). With a
    ``log_path`` and a terminal on stdin, the command runs on a pty of its own (same window size,
    kept in step on SIGWINCH) whose output goes both to the terminal and, secret values masked,
    to ``log_path``: the app shows its last lines after it returns (the app's redraw wipes the
    screen). Fail-fast as every run (``runner/steps.py``) unless ``fail_fast`` is False.
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    err_path = (log_path.with_suffix(".err") if log_path is not None
                else Path(tempfile.gettempdir()) / f"rsdeploy-{os.getpid()}-{time.time_ns()}.err")
    script = fail_fast_script(command, err_path) if fail_fast else command
    argv = ["bash", "-c", script]
    if log_path is not None and os.isatty(0) and os.isatty(1):
        code = _tee_through_pty(argv, child_env, cwd, log_path, secret_names, redact)
    else:
        code = subprocess.run(argv, env=child_env, cwd=cwd, check=False).returncode
        code = 128 - code if code < 0 else code
    failed = read_failure(err_path, command, None, code) if fail_fast else None
    if failed is not None and redact is not None:
        failed["text"] = redact(failed["text"])
    return TerminalRun(code, failed, log_path if log_path is not None and log_path.exists()
                       else None)


def _tee_through_pty(argv: list[str], env: dict[str, str], cwd: Path | None, log_path: Path,
                     secret_names: Iterable[str], redact: Callable[[str], str] | None) -> int:
    """Run ``argv`` on a new pty, copying keys in and output out (and into the log)."""
    import fcntl
    import pty
    import select
    import signal
    import termios
    import tty

    from rsdeploy_tui.runner.wrapper import SecretMask

    values = [env[n].encode() for n in secret_names if env.get(n)]
    mask = SecretMask(values)
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its terminal now
        try:
            if cwd is not None:
                os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)

    def sync_size(*_: object) -> None:
        with contextlib.suppress(OSError):
            size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(master, termios.TIOCSWINSZ, size)

    sync_size()
    old_winch = signal.signal(signal.SIGWINCH, sync_size)
    saved = termios.tcgetattr(0)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    pending = b""

    def keep(data: bytes, final: bool = False) -> None:
        nonlocal pending
        out, pending = mask.feed(pending + data, final=final)
        if out and redact is not None:
            out = redact(out.decode("utf-8", "surrogateescape")).encode("utf-8",
                                                                         "surrogateescape")
        with contextlib.suppress(OSError):  # a full disk must not end the session
            os.write(log_fd, out)

    try:
        tty.setraw(0)
        open_fds = [0, master]
        while master in open_fds:
            try:
                ready, _, _ = select.select(open_fds, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""  # EIO: the child side is closed
                if not data:
                    open_fds.remove(master)
                    continue
                os.write(1, data)
                keep(data)
            if 0 in ready:
                data = os.read(0, 4096)
                if not data:
                    open_fds.remove(0)
                else:
                    os.write(master, data)
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, saved)
        signal.signal(signal.SIGWINCH, old_winch)
        keep(b"", final=True)
        os.close(log_fd)
        os.close(master)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def run_interactive(
    command: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Run ``bash -c command`` on the current terminal and return its exit code (fail-fast).

    The caller suspends the TUI first (``with app.suspend(): run_interactive(...)``). Output is
    not captured (``run_in_terminal`` keeps a copy). A command killed by signal N returns 128+N.
    """
    return run_in_terminal(command, env, cwd).exit_code
