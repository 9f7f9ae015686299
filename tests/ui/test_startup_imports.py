"""Importing the app and the CLI must not pull in the slow client libraries (start-up time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("boto3", "botocore", "httpx", "psycopg2")
# Ours, not needed for the first frame: imported when a check runs or a dialog opens.
ON_FIRST_USE = ("rsdeploy_tui.checks.registry", "rsdeploy_tui.ui.screens.modals",
                "rsdeploy_tui.ui.screens.help", "rsdeploy_tui.ui.screens.resume",
                "rsdeploy_tui.ui.screens.typed_confirm", "rsdeploy_tui.ui.runs",
                "rsdeploy_tui.rollback")


def test_app_and_cli_imports_stay_light() -> None:
    code = (
        "import json, sys\n"
        "import rsdeploy_tui.cli, rsdeploy_tui.app, rsdeploy_tui.commands.tui\n"
        f"print(json.dumps([m for m in {HEAVY + ON_FIRST_USE!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == []
    # The test can fail: importing boto3 the same way is seen.
    probe = subprocess.run(
        [sys.executable, "-c", code.replace("import json, sys\n", "import json, sys, botocore\n")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(probe.stdout) == ["botocore"]


def run_on_a_pty(code: str, env: dict[str, str], timeout: float = 60) -> int:
    """Run ``python -c code`` with a pseudo-terminal as stdin, stdout and stderr."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        while proc.poll() is None:  # keep the pty drained so the app never blocks writing
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        return proc.wait(timeout=timeout)
    finally:
        os.close(master)


def test_a_launch_collects_garbage_again_after_its_first_frame(tmp_path: Path) -> None:
    """The CLI turns the cyclic collector off for the start-up; the app turns it back on (with
    the start-up's objects frozen) once its first frame is drawn, and the CLI on any way out."""
    report = tmp_path / "report.txt"
    code = (
        "import gc, sys\n"
        "import textual.app\n"
        "seen, after = [], []\n"
        "draw = textual.app.App._display\n"
        "def display(self, *args, **kwargs):\n"
        "    seen.append(gc.isenabled())\n"
        "    draw(self, *args, **kwargs)\n"
        "    if len(seen) == 1:\n"
        "        def leave():\n"
        "            after.append((gc.isenabled(), gc.get_freeze_count() > 0))\n"
        "            self.exit()\n"
        "        self.call_after_refresh(leave)\n"
        "textual.app.App._display = display\n"
        "from rsdeploy_tui.cli import main\n"
        "main(['--operator', 'gc-test'])\n"
        f"with open({str(report)!r}, 'w') as out:\n"
        "    print('first frame with collection on:', seen[0], file=out)\n"
        "    print('after the first frame (on, frozen):', *after[0], file=out)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "RSDEPLOY_STATE_DIR": str(tmp_path / "state"),
           "RSDEPLOY_CONFIG_DIR": str(tmp_path / "config"), "TERM": "xterm-256color"}
    assert run_on_a_pty(code, env) == 0
    text = report.read_text()
    assert "first frame with collection on: False" in text
    assert "after the first frame (on, frozen): True True" in text


def test_without_a_terminal_the_runbook_says_so_and_touches_nothing(tmp_path: Path) -> None:
    """``rsdeploy-tui < /dev/null`` (cron, a pipe) would wait for keys for good: refused."""
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(SRC), "RSDEPLOY_STATE_DIR": str(state),
           "RSDEPLOY_CONFIG_DIR": str(tmp_path / "config")}
    for args in ([], ["resume"]):
        out = subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out.stderr
        assert "Not a terminal" in out.stderr and "rsdeploy-tui check" in out.stderr
        assert "Traceback" not in out.stderr
    assert not list(state.glob("sessions/*"))  # no session created or resumed
