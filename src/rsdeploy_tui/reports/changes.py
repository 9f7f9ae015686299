"""Changes deployed, from ``git log`` between the previous tag and this one."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 5.0
"""A hung git (network filesystem, credential prompt) must not hang the report."""
MAX_CHANGES = 200


def git_changes(repo: Path, previous: str, current: str) -> tuple[list[str] | None, str]:
    """``git log --oneline previous..current`` in ``repo``.

    Returns:
        (lines, "") on success, else (None, why) - no git, not a repository, unknown tag, timeout.
    """
    if not repo.is_dir():
        return None, f"{repo} is not a directory"
    command = ["git", "-C", str(repo), "log", "--oneline", "--no-decorate", "--no-color",
               f"{previous}..{current}", "--"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, env=_quiet_env(), check=False)
    except FileNotFoundError:
        return None, "git is not installed"
    except subprocess.TimeoutExpired:
        return None, f"git log took longer than {GIT_TIMEOUT_S:g} s"
    except OSError as error:
        return None, f"git could not run: {error.strerror or error}"
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git log failed"])[0]
        return None, first
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    return lines[:MAX_CHANGES], ""


def _quiet_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never ask for credentials
    env["GIT_PAGER"] = "cat"
    return env
