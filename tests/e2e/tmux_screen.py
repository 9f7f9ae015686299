"""Drive rsdeploy-tui in a real terminal: a detached tmux session on its own socket."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class TmuxScreen:
    """One tmux server (``tmux -L <unique>``) running one command at a fixed size."""

    def __init__(self, width: int = 100, height: int = 32) -> None:
        self.socket = f"rsd-e2e-{uuid.uuid4().hex[:10]}"
        self.width = width
        self.height = height
        self.session = "app"
        self.pids: list[int] = []
        self.status_file = Path(f"/tmp/{self.socket}.status")

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a tmux command against this test's own server."""
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=20,
        )

    def start(
        self,
        argv: list[str],
        env: Mapping[str, str],
        *,
        stderr: Path | None = None,
        keep_after_exit: bool = False,
    ) -> None:
        """Start ``argv`` (exec'd, so the pane's pid is the app's) in a new tmux session.

        With ``keep_after_exit`` the pane stays (tmux ``remain-on-exit``) when the program ends,
        so what it printed last (after leaving the alternate screen) can still be read.
        """
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # Kept panes: the shell stays to write the program's exit status to a file (tmux 3.3a
        # intermittently marks such a pane dead with an empty #{pane_dead_status}).
        launch = "" if keep_after_exit else "exec "
        command = f"cd {shlex.quote(str(REPO))} && {launch}env {exports} " + shlex.join(argv)
        if stderr is not None:
            command += f" 2>{shlex.quote(str(stderr))}"
        if keep_after_exit:
            self.status_file = Path(f"/tmp/{self.socket}.status")
            self.status_file.unlink(missing_ok=True)
            command += f"; echo $? > {shlex.quote(str(self.status_file))}"
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            command,
            # Same tmux call, so the option is set before the program can end.
            *((";", "set-option", "-t", self.session, "remain-on-exit", "on")
              if keep_after_exit else ()),
        )
        self.pids.append(self.pid())

    def wait_ended(self, timeout: float = 30.0, what: str = "") -> int:
        """Wait until the program in a kept pane (``keep_after_exit``) has ended; return its
        exit status, as the pane's shell wrote it."""
        deadline = time.monotonic() + timeout
        while not (self.status_file.exists() and self.status_file.read_text().strip()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or 'the program to end'}; "
                                     f"screen:\n{self.text()}")
            time.sleep(0.1)
        return int(self.status_file.read_text().strip())

    def pid(self) -> int:
        """Process id of the program in the pane."""
        out = self.tmux("list-panes", "-t", self.session, "-F", "#{pane_pid}").stdout
        return int(out.split()[0])

    def text(self, *, history: bool = False) -> str:
        """The visible screen as text (with ``history``, the scrolled-off lines before it)."""
        since = ("-S", "-") if history else ()
        return self.tmux("capture-pane", "-p", *since, "-t", self.session, check=False).stdout

    def keys(self, *keys: str) -> None:
        """Send keys (tmux key names: Space, Escape, Enter...)."""
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float = 30.0, what: str = ""
    ) -> str:
        """Poll the screen until ``predicate(text)`` holds; the screen is in the error."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or predicate}; screen:\n{screen}")

    def kill_session(self) -> None:
        """Close the terminal: the program gets SIGHUP like an SSH link that drops."""
        self.tmux("kill-session", "-t", self.session, check=False)

    def close(self, grace: float = 20.0) -> list[int]:
        """Stop this test's tmux server; return the app processes that outlived it.

        Survivors are SIGKILLed so a failing run leaves no orphans behind (the caller fails).
        """
        self.tmux("kill-server", check=False)
        self.status_file.unlink(missing_ok=True)
        deadline = time.monotonic() + grace
        survivors = [p for p in self.pids if _alive(p)]
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = [p for p in survivors if _alive(p)]
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return survivors


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def app_env(state_dir: Path, config_dir: Path) -> dict[str, str]:
    """Environment of the app under test: state in tmp, source tree importable."""
    return {
        "PYTHONPATH": str(REPO / "src"),
        "RSDEPLOY_STATE_DIR": str(state_dir),
        "RSDEPLOY_CONFIG_DIR": str(config_dir),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "USER": "ana",
    }


def cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m rsdeploy_tui ARGS`` outside the terminal (show, sessions)."""
    return subprocess.run(
        [sys.executable, "-m", "rsdeploy_tui", *args],
        env={**env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def have_tmux() -> bool:
    """Whether tmux is installed (to decide a skip, use :func:`need_tmux`: the one rule)."""
    return shutil.which("tmux") is not None


def need_tmux() -> None:
    """tmux, or the one rule for a missing real part (skip locally, fail under CI)."""
    from support.real_parts import need_command

    need_command("tmux", "apt-get install tmux", why="the end-to-end tests drive a real terminal")
