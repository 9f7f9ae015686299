"""Commands that need the operator's terminal (``eb ssh``, editors, an interactive ``psql``)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

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


def run_interactive(
    command: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Run ``bash -c command`` on the current terminal and return its exit code.

    The caller suspends the TUI first (``with app.suspend(): run_interactive(...)``). Output is
    not captured: the operator sees it directly. A command killed by signal N returns 128+N.
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    completed = subprocess.run(["bash", "-c", command], env=child_env, cwd=cwd, check=False)
    code = completed.returncode
    return 128 - code if code < 0 else code
