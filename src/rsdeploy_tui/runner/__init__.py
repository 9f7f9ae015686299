"""Running shell commands detached from the app, following their output, streaming EB logs.

No Textual here: the UI calls these from workers. See docs/internals.md ("Runner").
"""

from __future__ import annotations

from rsdeploy_tui.runner.detached import (
    CancelOutcome,
    RunError,
    RunHandle,
    RunStatus,
    cancel_run,
    new_run_id,
    read_meta,
    run_status,
    start_run,
    wait_run,
)
from rsdeploy_tui.runner.interactive import needs_terminal, run_interactive
from rsdeploy_tui.runner.output import follow_log, sanitize, tail_lines

__all__ = [
    "CancelOutcome",
    "RunError",
    "RunHandle",
    "RunStatus",
    "cancel_run",
    "follow_log",
    "needs_terminal",
    "new_run_id",
    "read_meta",
    "run_interactive",
    "run_status",
    "sanitize",
    "start_run",
    "tail_lines",
    "wait_run",
]
