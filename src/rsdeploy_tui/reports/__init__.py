"""Deployment log and stakeholder messages rendered from a session (no Textual here).

Entry points:
- ``render_report(checklist, session, fmt="md"|"json", clock=...) -> str``: the deployment log.
- ``build_log(...) -> dict``: the same as data (``--format json``).
- ``build_messages(...) -> list[Message]``: the Communication tab's messages.
- ``post_message(url, text) -> WebhookResult`` (async): the Slack-compatible webhook post.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.reports.facts import Clock, utc_clock
from rsdeploy_tui.reports.log import build_log
from rsdeploy_tui.reports.markdown import render_markdown
from rsdeploy_tui.reports.messages import MESSAGE_IDS, Message, build_messages
from rsdeploy_tui.reports.redaction import scrubber
from rsdeploy_tui.reports.webhook import WebhookResult, post_message

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

__all__ = ["MESSAGE_IDS", "Message", "WebhookResult", "build_log", "build_messages",
           "post_message", "render_markdown", "render_report",
           "render_screen_and_file"]


def render_report(
    checklist: Checklist,
    session: Any,
    fmt: str = "md",
    *,
    clock: Clock = utc_clock,
    vars: Mapping[str, str] | None = None,
    git_dir: Path | None = None,
    use_git: bool = True,
    item_table: bool = True,
) -> str:
    """The deployment log of ``session`` as Markdown (``md``) or JSON text, redacted.

    ``item_table`` False leaves the per-item table out of the Markdown (for on-screen views).
    """
    log = build_log(checklist, session, clock=clock, vars=vars, git_dir=git_dir,
                    use_git=use_git)
    clean = scrubber(session, checklist)
    if fmt == "json":
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
    recorded = _recorded_vars(session)
    shown = {**recorded, **dict(vars or {})}
    return clean.text(render_markdown(log, checklist, shown, item_table=item_table))


def render_screen_and_file(
    checklist: Checklist,
    session: Any,
    *,
    clock: Clock = utc_clock,
    vars: Mapping[str, str] | None = None,
    git_dir: Path | None = None,
    use_git: bool = True,
) -> tuple[str, str]:
    """The Markdown log twice from one gathering: (for the screen, without the per-item table;
    for a file, complete)."""
    log = build_log(checklist, session, clock=clock, vars=vars, git_dir=git_dir,
                    use_git=use_git)
    clean = scrubber(session, checklist)
    shown = {**_recorded_vars(session), **dict(vars or {})}
    return (clean.text(render_markdown(log, checklist, shown, item_table=False)),
            clean.text(render_markdown(log, checklist, shown)))


def _recorded_vars(session: Any) -> dict[str, str]:
    for event in getattr(session, "events", []) or []:
        if event.kind == "session_created":
            return {str(k): str(v) for k, v in (event.data.get("vars") or {}).items()}
    return {}
