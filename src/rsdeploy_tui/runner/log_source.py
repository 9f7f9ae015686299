"""Pick the log pane's source from the checklist vars, and keep the full stream on disk."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.runner.cloudwatch_logs import stream_cloudwatch_logs
from rsdeploy_tui.runner.eb_logs import LOG_GROUPS, LogLine, stream_eb_logs
from rsdeploy_tui.runner.output import sanitize

SourceFactory = Callable[[], AsyncGenerator[list[LogLine], None]]


def log_source(
    vars: Mapping[str, str],
    log: str = "eb-engine.log",
    *,
    eb: str = "eb",
    cwd: Path | None = None,
    poll: float = 2.0,
) -> SourceFactory:
    """A factory for ``eb_logs.supervise`` reading ``log`` of ``${eb_env}``.

    ``log_source: eb`` (default) runs ``eb logs --stream``; ``log_source: cloudwatch`` polls
    CloudWatch Logs with boto3 (``aws_region``/``aws_endpoint_url`` honoured).

    Args:
        vars: Resolved checklist vars; ``eb_env`` is required.
        log: A key of ``LOG_GROUPS`` (``eb-engine.log``, ``web.stdout.log``) or a log path.
        eb: The eb executable.
        cwd: Where eb runs (its ``.elasticbeanstalk`` directory).
        poll: Seconds between CloudWatch polls.

    Raises:
        RsdeployError: ``eb_env`` is empty or ``log_source`` is neither eb nor cloudwatch.
    """
    env_name = vars.get("eb_env", "")
    if not env_name:
        raise RsdeployError("No environment", "Set the var eb_env to follow its logs.")
    kind = (vars.get("log_source") or "eb").strip().lower()
    if kind == "eb":
        group = LOG_GROUPS.get(log, log)  # None: eb's default group
        return lambda: stream_eb_logs(env_name, group, eb=eb, cwd=cwd)
    if kind == "cloudwatch":
        return lambda: stream_cloudwatch_logs(env_name, log, vars=vars, poll=poll)
    raise RsdeployError("Unknown log source", f"log_source is {kind!r}; use eb or cloudwatch.")


def archive_lines(
    path: Path, batch: list[LogLine], redact: Callable[[str], str] | None = None
) -> None:
    """Append a batch to the session's copy of the stream: ``<instance> <text>``, plain text.

    The pane keeps a bounded buffer; this file keeps everything (secrets masked by ``redact``).
    """
    out = []
    for line in batch:
        text = sanitize(line.text, keep_colour=False)
        if redact is not None:
            text = redact(text)
        out.append(f"{line.instance or '-'} {text}\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(out))
