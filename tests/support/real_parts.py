"""The one rule for a missing real part (PostgreSQL, tmux, git, /proc, the reference checklist).

Outside CI a test that needs a part this machine lacks is skipped, and the skip names the part and
how to install it. Under CI (``CI`` set to ``1``, ``true`` or ``yes``, any case) the same test
*fails* with that message: CI must never go green by skipping the real parts. Every such skip in the
suite goes through :func:`need` (or :func:`need_command` / :func:`need_path`), so there is one
definition of "in CI" and one message format.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

TRUE_VALUES = ("1", "true", "yes")


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to a true value (1, true, yes)."""
    return os.environ.get("CI", "").strip().lower() in TRUE_VALUES


def need(name: str, why: str, install_hint: str) -> NoReturn:
    """Stop the test for a missing real part: fail under CI, skip (naming it) otherwise.

    Args:
        name: the part, as an operator would name it ("tmux", "PostgreSQL server binaries").
        why: what the test needs it for, or what was looked for and not found.
        install_hint: how to get it ("apt-get install tmux").
    """
    message = f"missing real part: {name} ({why}); install: {install_hint}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def need_command(command: str, install_hint: str, why: str = "") -> str:
    """The path of ``command`` on PATH, or :func:`need` when it is not installed."""
    found = shutil.which(command)
    if found is None:
        need(command, why or f"'{command}' is not on PATH", install_hint)
    return found


def need_path(path: Path, name: str, install_hint: str, why: str = "") -> Path:
    """``path`` when it exists, or :func:`need` naming it."""
    if not path.exists():
        need(name, why or f"{path} does not exist", install_hint)
    return path


def has_proc() -> bool:
    """True when Linux's /proc is mounted (process-group and fd checks read it)."""
    return Path("/proc/self/stat").exists()


def need_proc() -> None:
    """Linux's /proc, for tests that look at process groups and open files."""
    need_path(Path("/proc/self/stat"), "/proc", "run the tests on Linux with /proc mounted",
              why="the test reads process state from /proc")
