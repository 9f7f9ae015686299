"""``check`` and ``show`` never print raw control bytes from recorded output (#17.2): an escape
sequence in a command's output would act on the operator's terminal (and could hide a value)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore

REPO = Path(__file__).resolve().parents[2]
CHECKLIST = """\
name: Escapes
phases:
  - id: pre
    title: Pre
    items:
      - id: colourful
        text: Prints escape sequences
        check:
          type: command
          run: >-
            printf 'ok \\033[31mred\\033[0m \\033]0;owned\\007 \\302\\233 done\\n';
            exit 1
"""
RAW = ("\x1b", "\x07", "\x9b")


def _cli(args: list[str], state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RSDEPLOY_STATE_DIR": str(state), "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_and_show_print_escapes_visibly(tmp_path: Path) -> None:
    path = tmp_path / "escapes.yaml"
    path.write_text(CHECKLIST)
    state = tmp_path / "state"
    store = SessionStore(state / "sessions")
    session = store.create(load_checklist(path), operator="ana")
    session.record("note", item="pre.colourful", text="see \x1b[2J\x1b[Hcleared")
    session.record("command_started", item="pre.colourful", run="r1", pid=1, log="r1.log",
                   command="printf x")
    session.record("command_finished", item="pre.colourful", run="r1", exit_code=0,
                   duration_s=0.1, tail=["\x1b[1mbold\x1b[0m line", "\x1b]0;title\x07"])
    session.close()

    outputs = {}
    for args in (["check", "--checklist", str(path), "--session", session.id],
                 ["check", "--checklist", str(path), "--json"],
                 ["show", session.id], ["show", session.id, "--json"]):
        result = _cli(args, state)
        assert "Traceback" not in result.stderr, result.stderr
        outputs[" ".join(args[:1] + args[-1:])] = result.stdout
    for name, out in outputs.items():
        assert not any(byte in out for byte in RAW), (name, out)
    # shown, not dropped: the operator still sees that the output held escapes
    assert "\\u001b[31mred" in outputs["check " + session.id]
    assert "\\u001b[2J" in outputs["show " + session.id]
    # and the JSON stays JSON, with the very characters recorded
    shown = json.loads(outputs["show --json"])
    assert shown["items"][0]["note"] == "see \x1b[2J\x1b[Hcleared"
    assert json.loads(outputs["check --json"])[0]["status"] == "fail"
