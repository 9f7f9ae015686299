"""What the run view says beyond a run's output: how it ended (the failed line, processes left
behind, output the disk refused), and an interactive run's terminal (``App.suspend``).

Functions of the runbook's ``RunController`` (``ui/runs.py``), kept here so that module stays
about starting, following and cancelling runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item
    from rsdeploy_tui.ui.runs import Followed, RunController

TERMINAL_LINES = 40
"""Lines of an interactive run's terminal shown in its view after it returns."""


def ending_lines(failed: Any, background: Any, dropped: Any, code: int | None) -> list[str]:
    """What the run view says under the output about how the run ended."""
    from rsdeploy_tui.runner.steps import describe_failure

    lines: list[str] = []
    if isinstance(dropped, dict) and dropped.get("bytes"):
        lines.append(f"Output missing: {dropped['bytes']} bytes could not be written to the run "
                     f"log ({dropped.get('reason') or 'write failed'}); the command ran on.")
    if isinstance(background, list) and background:
        lines.append(f"The shell ended (exit {code}); still running in the background: "
                     + ", ".join(str(b) for b in background))
    if isinstance(failed, dict):
        lines.append(f"Stopped: {describe_failure(failed)}")
    return ["", *lines] if lines else []


def terminal_lines(runs: RunController, log: Path) -> list[str]:
    """What an interactive run's terminal showed last (its pty copy), for the view."""
    from rsdeploy_tui.runner import tail_lines

    redact = runs.session.redactor.text
    kept = [redact(line) for line in tail_lines(log, TERMINAL_LINES, keep_colour=True)]
    return ["(interactive: the last lines the terminal showed)", *kept]


def run_interactive(runs: RunController, item: Item, shell: str, display: str,
                    typed: str | None) -> None:
    """Run with the app suspended (``eb ssh``, an editor); record the exit code."""
    from textual.app import SuspendNotSupported

    from rsdeploy_tui.runner import new_run_id, run_in_terminal
    from rsdeploy_tui.ui.runs import TAIL_LINES, Followed

    run_id = new_run_id(item.qid)
    if not runs.screen.record("command_started", item=item.qid, run=run_id, command=display,
                              pid=None, log=None, confirmed=typed, mode="interactive"):
        return
    started = time.monotonic()
    code: int | None
    failed = None
    log = runs.run_dir / f"{run_id}.log"
    try:
        runs.run_dir.mkdir(parents=True, exist_ok=True)
        with runs.screen.app.suspend():
            done = run_in_terminal(shell, cwd=runs._cwd(), log_path=log,
                                   fail_fast=not item.continue_on_error,
                                   secret_names=runs.checklist.secrets,
                                   redact=runs.session.redactor.text)
        code, failed = done.exit_code, done.failed
    except SuspendNotSupported:
        code = None
        runs.screen.notify("This terminal cannot hand over to an interactive command; run it "
                           "in a shell.", severity="error", timeout=15)
    # The re-render after command_started may have loaded this run's view (and its line).
    runs.output.open_run(run_id, runs._title(item.qid, display))
    lines = (terminal_lines(runs, log) if log.exists()
             else ["(interactive: the output went to the terminal)"])
    runs.output.reset_lines(run_id, lines)
    data: dict[str, Any] = {"run": run_id, "exit_code": code,
            "duration_s": round(time.monotonic() - started, 3),
            "tail": [line for line in lines[1:]][-TAIL_LINES:]}
    if failed is not None:
        data["failed"] = failed
    runs._record_finish(Followed(item.qid, run_id, runs.run_dir, display), data, None)


def show_drop_note(runs: RunController, followed: Followed) -> None:
    """While the run's log cannot be written (full disk), say so: the output is not lost
    on screen without a reason."""
    from rsdeploy_tui.runner.detached import read_drop_note

    note = read_drop_note(followed.run_dir, followed.run_id)
    if note is None or not note.get("dropping"):
        runs._dropping.discard(followed.run_id)
        return
    if followed.run_id in runs._dropping:
        return
    runs._dropping.add(followed.run_id)
    reason = note.get("reason") or "the write failed"
    runs.output.set_status(followed.run_id, "running · output not written", "unknown")
    runs.output.feed(followed.run_id, [
        f"Output missing from here: the run log cannot be written ({reason}); the command "
        "runs on and its exit will be recorded."])
    runs.screen.notify(f"{followed.qid}: the run log cannot be written ({reason}); the "
                       "command runs on.", title="Run output", severity="warning", timeout=15)


_SHARE_WORDS = {
    "offline": "Output not in the shared store yet ({error}); it goes up, in order, when the "
               "store answers. The local log is complete.",
    "gave_up": "Output not shared: {error}",
    "failed": "Output not shared: {error} The local log is the record.",
    "lost": "Output upload ended: {error}.",
}


def show_share_note(runs: RunController, followed: Followed) -> None:
    """Say once when the run's uploader (shared store) is held up or stopped: other machines
    see this run's output late, or only through this machine."""
    from rsdeploy_tui.session.shared.run_upload import read_status

    status = read_status(followed.run_dir, followed.run_id)
    state = str(status.get("state", "")) if status else ""
    if state == runs._sharing.get(followed.run_id, "uploading"):
        return
    runs._sharing[followed.run_id] = state
    words = _SHARE_WORDS.get(state)
    if words is not None and status is not None:
        runs.output.feed(followed.run_id, [words.format(error=status.get("error") or "")])
