"""The environment's logs read from CloudWatch Logs directly (hosts without the eb CLI).

Polls FilterLogEvents on ``/aws/elasticbeanstalk/<env>/var/log/<file>`` and de-duplicates by
eventId, since each poll looks a little into the past to catch late-arriving events.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from rsdeploy_tui.runner.eb_logs import LogLine, LogSourceError
from rsdeploy_tui.runner.output import sanitize

OVERLAP_MS = 10_000
"""Each poll starts this far before the newest event seen: ingestion can lag behind timestamps."""
MAX_PAGES = 20
"""Pages (up to 10,000 events each) read per poll; the rest come on the next poll."""
SEEN_IDS = 50_000
"""Event ids remembered for de-duplication."""


def log_group_name(env_name: str, log: str | None = None) -> str:
    """The CloudWatch log group for ``log`` of environment ``env_name``.

    ``None`` or ``eb-engine.log`` -> ``/aws/elasticbeanstalk/<env>/var/log/eb-engine.log``;
    a bare file name is under ``var/log/``; a relative path is under the environment's prefix
    (as ``eb logs --log-group`` does); an absolute group name is used as is.
    """
    log = log or "eb-engine.log"
    if log.startswith("/"):
        return log
    if "/" not in log:
        log = f"var/log/{log}"
    return f"/aws/elasticbeanstalk/{env_name}/{log}"


class _Seen:
    """A bounded set of event ids (oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque()
        self._ids: set[str] = set()
        self._size = size

    def add(self, event_id: str) -> bool:
        """Remember ``event_id``; False if it was already seen."""
        if event_id in self._ids:
            return False
        self._ids.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())
        return True


def _fetch(logs: Any, group: str, since_ms: int) -> list[dict[str, Any]]:
    """One poll: every event since ``since_ms`` (blocking; runs in a thread)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
    for _ in range(MAX_PAGES):
        page = logs.filter_log_events(**kwargs)
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token or not page.get("events"):
            break
        kwargs["nextToken"] = token
    return events


def _as_source_error(exc: Exception, group: str) -> LogSourceError:
    """A botocore failure as a sentence, with the fix when the log group does not exist."""
    from botocore.exceptions import ClientError

    from rsdeploy_tui.aws import describe_error

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return LogSourceError(
                "Log group not found",
                f"CloudWatch has no log group {group}: instance log streaming is off, or the "
                "environment name is wrong.",
                fix="eb logs --cloudwatch-logs enable   (an environment update; takes minutes)",
            )
        return LogSourceError("CloudWatch Logs refused", describe_error(exc))
    return LogSourceError("CloudWatch Logs unreachable", describe_error(exc))


async def stream_cloudwatch_logs(
    env_name: str,
    log: str | None = None,
    *,
    vars: Mapping[str, str] | None = None,
    poll: float = 2.0,
    lookback_s: float = 300.0,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncGenerator[list[LogLine], None]:
    """Poll CloudWatch Logs for an environment's log and yield new lines in batches.

    Never ends by itself; raises ``LogSourceError`` when CloudWatch cannot be read (wrap in
    ``eb_logs.supervise`` for restarts). boto3 calls run in a thread.

    Args:
        env_name: The Elastic Beanstalk environment.
        log: ``eb-engine.log`` (default), ``web.stdout.log``, a relative path or a group name.
        vars: Resolved checklist vars (``aws_region``, ``aws_endpoint_url``).
        poll: Seconds between polls.
        lookback_s: How far back the first poll reaches.
        sleep: Injected for tests.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from rsdeploy_tui.aws import client

    group = log_group_name(env_name, log)
    try:
        logs = await asyncio.to_thread(client, "logs", vars)
    except (BotoCoreError, ClientError) as exc:
        raise _as_source_error(exc, group) from None
    seen = _Seen(SEEN_IDS)
    since_ms = int((time.time() - lookback_s) * 1000)
    while True:
        try:
            events = await asyncio.to_thread(_fetch, logs, group, since_ms)
        except (BotoCoreError, ClientError) as exc:
            raise _as_source_error(exc, group) from None
        events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
        batch: list[LogLine] = []
        for event in events:
            event_id = event.get("eventId") or repr(
                (event.get("logStreamName"), event.get("timestamp"), event.get("message"))
            )
            if not seen.add(event_id):
                continue
            since_ms = max(since_ms, int(event.get("timestamp", 0)) - OVERLAP_MS)
            instance = event.get("logStreamName")
            for part in str(event.get("message", "")).rstrip("\n").split("\n"):
                text = sanitize(part)
                batch.append(LogLine(instance, group, text))
        if batch:
            yield batch
        await sleep(poll)
