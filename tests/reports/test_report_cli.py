"""``rsdeploy-tui report`` through a real subprocess, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reports_factory import CANARY, frozen, half_done_session

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RSDEPLOY_STATE_DIR": str(state), "DB_PASSWORD": CANARY,
           "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_report_writes_markdown_and_prints_json(tmp_path: Path, app_dir: Path) -> None:
    state = tmp_path / "state"
    session, _ = half_done_session(state / "sessions", app_dir)
    # the session stays open (locked) as if the TUI were still running: report reads anyway
    out = tmp_path / "out" / "log.md"
    try:
        done = _cli("report", session.id, "-o", str(out), state=state)
        assert done.returncode == 0, done.stderr
        text = out.read_text(encoding="utf-8")
        assert text.startswith("## Deployment 2026-11-20")
        assert f"_Session `{session.id}` of RS Systems production deployment (in progress)" in text
        assert "- Failed: Verify backup integrity" in text
        assert CANARY not in text and CANARY not in done.stderr
        assert str(out) in done.stderr

        # default session = the latest; JSON on stdout for tools
        done = _cli("report", "--format", "json", state=state)
        assert done.returncode == 0, done.stderr
        log = json.loads(done.stdout)
        assert log["session"] == session.id
        assert log["progress"]["total"] == len(frozen().items)
    finally:
        session.close()


def test_report_of_unknown_session_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    done = _cli("report", "20990101T000000Z-dead", state=tmp_path / "state")
    assert done.returncode == 1
    assert "No such session" in done.stderr
    assert "Traceback" not in done.stderr
    done = _cli("report", state=tmp_path / "empty")
    assert done.returncode == 1
    assert "No sessions yet" in done.stderr


def test_report_and_messages_carry_no_terminal_control_sequences(tmp_path: Path,
                                                                 app_dir: Path) -> None:
    """A note or a command's output holding escape sequences (colour, clear screen, a window
    title) must not reach the terminal that prints the report, nor a message pasted to chat."""
    from rsdeploy_tui.reports import build_messages

    state = tmp_path / "state"
    session, checklist = half_done_session(state / "sessions", app_dir)
    item = next(i for i in checklist.iter_items() if i.command)
    session.record("note", item.qid, text="clear \x1b[2J\x1b]0;owned\x07 then \x9b31mred")
    session.record("note", "pre.known-issues", text="slow \x1b[31mlogin\x1b[0m page")
    try:
        done = _cli("report", session.id, state=state)
        assert done.returncode == 0, done.stderr
        assert "then" in done.stdout  # the note is there, without its sequences
        assert not any(ch in done.stdout for ch in "\x1b\x07\x9b"), repr(done.stdout[-400:])
        done = _cli("report", session.id, "--format", "json", state=state)
        assert "\\u001b" not in done.stdout and "\x9b" not in done.stdout
        for message in build_messages(checklist, session, use_git=False):
            assert not any(ch in message.body + message.subject for ch in "\x1b\x07\x9b")
    finally:
        session.close()
