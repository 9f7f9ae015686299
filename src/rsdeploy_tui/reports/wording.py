"""One event as an operator reads it: "ticked Stop accepting new requests", "ran eb deploy →
exit 0" (the deployment log's words where it has them).

Used where events are listed one by one: the events set aside after a conflict between machines
(the decision dialog, ``rsdeploy-tui conflicts``, the deployment log). The events are already
redacted (they come from a journal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.reports.timefmt import parse_time

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session.events import Event

MAX_TEXT = 120
"""Longest note, reason or command shown in one line (the journal keeps them whole)."""


def _short(text: Any) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT - 1] + "…"


def item_text(qid: str | None, checklist: Checklist | None) -> str:
    """An item's text from the checklist (its id when the checklist does not know it)."""
    if not qid:
        return ""
    if checklist is not None:
        try:
            return checklist.item(qid).text
        except (KeyError, LookupError, ValueError):
            pass
    return qid


def run_commands(events: Iterable[Event]) -> dict[str, str]:
    """Run id -> the command it ran, from ``command_started`` events (to word their ends)."""
    return {str(e.data.get("run")): str(e.data.get("command", "")) for e in events
            if e.kind == "command_started"}


def describe(event: Event, checklist: Checklist | None = None,
             commands: Mapping[str, str] | None = None) -> str:
    """What ``event`` says, in a few words (no time, no operator: the caller shows those)."""
    data = event.data
    what = item_text(event.item, checklist)
    kind = event.kind
    command = (commands or {}).get(str(data.get("run")), "") or str(data.get("command", ""))
    shown = f"`{_short(command)}`" if command else f"run {data.get('run', '?')}"
    if kind == "tick":
        over = f" although its check had not passed ({_short(data['reason'])})" \
            if data.get("reason") else ""
        return f"ticked {what}{over}"
    if kind == "untick":
        return f"unticked {what}"
    if kind == "skip":
        return f"skipped {what}: {_short(data.get('reason'))}"
    if kind == "fail":
        return f"marked {what} failed: {_short(data.get('reason'))}"
    if kind == "note":
        return f"note on {what}: {_short(data.get('text'))}" if what else \
            f"note: {_short(data.get('text'))}"
    if kind == "check_result":
        return f"check of {what}: {data.get('status')} — {_short(data.get('summary'))}"
    if kind == "command_started":
        return f"started {shown}" + (f" ({what})" if what else "")
    if kind == "command_finished":
        code = data.get("exit_code")
        return f"ran {shown} → " + ("exit unknown" if code is None else f"exit {code}")
    if kind == "run_cancelled":
        return f"cancelled {shown}" + (f" ({data['signal']})" if data.get("signal") else "")
    if kind == "gate_override":
        return f"overrode the gate of phase {data.get('phase')}: {_short(data.get('reason'))}"
    if kind == "phase_entered":
        return f"entered phase {data.get('phase')}"
    if kind in ("fact", "value_set"):
        return f"{'recorded' if kind == 'fact' else 'set'} {data.get('name')} = " \
               f"{_short(data.get('value'))}"
    if kind == "rollback_started":
        return f"started a rollback: {_short(data.get('reason'))}"
    if kind == "confirmation":
        return f"confirmed {what or 'a step'} by typing '{_short(data.get('text'))}'"
    if kind == "session_finished":
        return "finished the session"
    if kind == "session_abandoned":
        return "abandoned the session"
    if kind == "session_resumed":
        return f"resumed the session on {data.get('host', event.host)}"
    if kind == "session_created":
        return f"started the session ({data.get('checklist', '')})"
    if kind == "lock_taken_over":
        return f"took the session over from {data.get('from_user')} on {data.get('from_host')}"
    if kind == "lease_claimed":
        return "claimed the shared lease once the store answered"
    if kind == "cursor":
        return f"left the cursor on {data.get('qid')}"
    if kind == "conflict_decided":
        return f"decided on {data.get('file')}: {data.get('decision')}"
    return f"{kind.replace('_', ' ')}" + (f" ({what})" if what else "")


def event_line(event: Event, checklist: Checklist | None = None,
               commands: Mapping[str, str] | None = None) -> str:
    """``#7  02:31:05 UTC  ana@bastion-1  ticked Stop accepting new requests``."""
    moment = parse_time(event.at)
    when = moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else event.at
    return f"#{event.seq}  {when}  {event.operator}@{event.host}  " \
           f"{describe(event, checklist, commands)}"
