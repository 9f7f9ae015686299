"""Conflicts between machines for the deployment log: events set aside, decisions, events
recorded again (``session/conflicts.py``).

A decision is in the journal (every machine's log shows it); the side file itself is only on the
machine that set the events aside, so its lines are listed where it is and counted elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rsdeploy_tui.reports.wording import describe, event_line, run_commands
from rsdeploy_tui.session.conflicts import REREC, side_files

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist


def conflict_entries(checklist: Checklist, session: Any) -> list[dict[str, Any]]:
    """One entry per side file: where it is, what it holds, what was decided, what came back.

    Plain data for ``build_log`` (``conflicts``); empty for a session without conflicts.
    """
    events = list(getattr(session, "events", ()))
    directory = getattr(session, "dir", None)
    try:
        local = side_files(directory, events) if directory is not None else []
    except Exception:  # noqa: BLE001 - a damaged side file must not stop the log
        local = []
    commands = run_commands(events)
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for side in local:
        commands.update(run_commands(side.events))
        entries[(side.name, side.sha256)] = {
            "file": side.name, "path": str(side.path), "host": getattr(session, "host", None),
            "set_aside_at": side.set_aside_at, "events": len(side.events),
            "lines": [event_line(e, checklist, commands) for e in side.events],
            "decision": None, "by": None, "at": None, "rerecorded": [], "set_aside": []}
    for event in events:
        if event.kind != "conflict_decided":
            continue
        key = (str(event.data.get("file")), str(event.data.get("sha256")))
        entry = entries.setdefault(key, {
            "file": key[0], "path": event.data.get("path"), "host": event.host,
            "set_aside_at": None, "events": event.data.get("events"), "lines": []})
        entry.update(decision=event.data.get("decision"), by=event.operator, at=event.at,
                     host=event.host, set_aside=list(event.data.get("set_aside") or []),
                     rerecorded=[])
    for event in events:
        mark = event.data.get(REREC)
        if not isinstance(mark, dict):
            continue
        found = entries.get((str(mark.get("file")), str(mark.get("sha256"))))
        if found is None:
            continue
        found.setdefault("rerecorded", []).append({
            "seq": event.seq, "original_seq": mark.get("seq"), "original_at": mark.get("at"),
            "original_operator": mark.get("operator"), "original_host": mark.get("host"),
            "text": describe(event, checklist, commands)})
    return list(entries.values())


def conflict_issues(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The log's "Issues Encountered" lines for conflicts (kind ``conflict``)."""
    issues = []
    for entry in entries:
        count = entry.get("events")
        what = f"{count} events" if count is not None else "events"
        if entry.get("decision") == "rerecorded":
            outcome = (f"{len(entry.get('rerecorded') or [])} re-recorded on top of the shared "
                       "journal, the rest kept in the file")
        elif entry.get("decision") == "kept_store":
            outcome = "the shared journal was kept; they stay set aside in the file"
        else:
            outcome = "not decided yet"
        issues.append({"kind": "conflict", "item": None, "by": entry.get("by"),
                       "at": entry.get("at"),
                       "text": f"{what} of {entry.get('host') or 'a machine'} set aside after a "
                               f"conflict between machines ({entry.get('path') or entry['file']})"
                               f": {outcome}"})
    return issues
