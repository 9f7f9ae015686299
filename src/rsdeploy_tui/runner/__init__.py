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
from rsdeploy_tui.runner.eb_logs import (
    LOG_GROUPS,
    LogLine,
    LogSourceError,
    SourceStatus,
    stream_eb_logs,
    supervise,
)
from rsdeploy_tui.runner.eb_status import EnvStatus, explain_deploy_exit, fetch_env_status
from rsdeploy_tui.runner.interactive import (
    TerminalRun,
    needs_terminal,
    run_in_terminal,
    run_interactive,
)
from rsdeploy_tui.runner.log_source import archive_lines, log_source
from rsdeploy_tui.runner.output import follow_log, sanitize, tail_lines

__all__ = [
    "LOG_GROUPS",
    "CancelOutcome",
    "EnvStatus",
    "LogLine",
    "LogSourceError",
    "RunError",
    "RunHandle",
    "RunStatus",
    "SourceStatus",
    "TerminalRun",
    "archive_lines",
    "cancel_run",
    "explain_deploy_exit",
    "fetch_env_status",
    "follow_log",
    "log_source",
    "needs_terminal",
    "new_run_id",
    "read_meta",
    "run_in_terminal",
    "run_interactive",
    "run_status",
    "sanitize",
    "start_run",
    "stream_eb_logs",
    "supervise",
    "tail_lines",
    "wait_run",
]
