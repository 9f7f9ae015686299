"""``sessions``, ``show``, ``finish`` and ``abandon``: sessions from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rsdeploy_tui.errors import RsdeployError, UsageError
from rsdeploy_tui.session import Session, SessionStore, SessionSummary
from rsdeploy_tui.session.view import (
    default_session,
    item_rows,
    recorded_checklist,
    session_view,
)

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

_MARKS = {"done": "[x]", "skipped": "[-]", "failed": "[!]", "running": "[~]", "pending": "[ ]"}


def run(args: argparse.Namespace) -> int:
    """Dispatch on ``args.command``."""
    store = SessionStore()
    if args.command == "sessions":
        return _list(store, args.json)
    if args.command == "show":
        return _show(store, args.session, args.json)
    if args.read_only:
        raise UsageError("Read-only", f"'{args.command}' changes the session; drop --read-only.")
    return _close(store, args)


def _when(stamp: str | None) -> str:
    """``2026-11-26T02:30:00.123Z`` -> ``2026-11-26 02:30Z`` (blank when unknown)."""
    return f"{stamp[:10]} {stamp[11:16]}Z" if stamp else ""


def _list(store: SessionStore, as_json: bool) -> int:
    summaries = store.list()
    if as_json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
        return 0
    if not summaries:
        print(f"No sessions in {store.root}.")
        return 0
    rows = [("ID", "CHECKLIST", "OPERATOR", "HOST", "STARTED", "LAST ACTIVITY", "STATUS",
             "DONE", "CRITICAL PENDING")]
    for s in summaries:
        # Who operates it now, and who started it when someone else did.
        operator = s.operator if s.last_operator in ("", "?", s.operator) else \
            f"{s.last_operator} (started by {s.operator})"
        rows.append((s.id, s.checklist, operator, s.host, _when(s.created),
                     _when(s.updated),
                     s.status, f"{s.done}/{s.total}", str(s.critical_pending)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    for s in summaries:
        if s.problem:
            print(f"\n{s.id}: {s.problem}", file=sys.stderr)
    return 0


def _pick(store: SessionStore, session_id: str | None, *, active_only: bool) -> str:
    if session_id:
        return session_id
    latest = store.latest(active_only=active_only)
    if latest is None:
        which = "active session" if active_only else "session"
        raise RsdeployError(f"No {which}", f"There is no {which} in {store.root} "
                            "(`rsdeploy-tui sessions` lists them).")
    return latest.id


def _show(store: SessionStore, session_id: str | None, as_json: bool) -> int:
    if not session_id:
        session_id, which = default_session(store)
        print(f"rsdeploy-tui: {which}", file=sys.stderr)
    session = store.open(session_id, read_only=True)
    for warning in session.warnings:
        print(f"rsdeploy-tui: warning: {warning}", file=sys.stderr)
    checklist, note = recorded_checklist(session.meta)
    if note:
        print(f"rsdeploy-tui: note: {note}", file=sys.stderr)
    from rsdeploy_tui.commands.printable import printable_stdout

    values = _session_values(session, checklist)
    with printable_stdout():  # run tails, notes and evidence may hold escape sequences
        if as_json:
            print(json.dumps(session_view(session, checklist, values), indent=2,
                             ensure_ascii=False))
            return 0
        _print_session(session, checklist, note, values)
    return 0


def _session_values(session: Session, checklist: Checklist | None) -> dict[str, str] | None:
    """The values the app would show (set later in the session, facts), or None without them."""
    if checklist is None:
        return None
    from rsdeploy_tui.values import session_values

    try:
        return session_values(checklist, session).values
    except RsdeployError:  # a damaged var: item texts fall back to the recorded vars
        return None


def _print_session(session: Session, checklist: Checklist | None, note: str | None,
                   values: dict[str, str] | None = None) -> None:
    meta, summary = session.meta, session.summary()
    state = session.state(checklist)
    print(f"Session {session.id}  ({state.status})")
    print(f"Checklist:  {meta.checklist}  ({meta.checklist_path or 'path not recorded'})")
    origin = f" from {meta.ssh_from}" if meta.ssh_from else ""
    print(f"Started:    {_when(meta.created)} by {meta.operator} on {meta.host}{origin}")
    print(f"Last:       {_when(summary.updated)} by {summary.last_operator}")
    print(f"Progress:   {summary.done}/{summary.total} done or skipped, "
          f"{summary.critical_pending} critical pending")
    if session.holder:
        print(f"In use by:  {session.holder.describe()}")
    if state.current_phase:
        print(f"Phase:      {state.current_phase}")
    if state.rollback:
        print(f"ROLLBACK:   started {_when(state.rollback.at)}: {state.rollback.reason}")
    for phase, override in state.gate_overrides.items():
        print(f"Gate {phase} overridden by {override.by} at {_when(override.at)}: "
              f"{override.reason}")
    if state.facts:
        print("Facts:")
        for name, value in state.facts.items():
            print(f"  {name} = {value}")
    if note:
        print(f"Note:       {note}")
    current: str | None = None
    for row in item_rows(state, meta, checklist, session.redactor, values):
        if row["phase"] != current:
            current = row["phase"]
            title = current
            if checklist is not None:
                title = next((p.title for p in checklist.phases if p.id == current), current)
            print(f"\n{title}")
        flag = " CRITICAL" if row["critical"] else ""
        when = f"  ({row['by']} {_when(row['at'])})" if row["by"] else ""
        print(f"  {_MARKS.get(row['state'], '[?]')} {row['id']}{flag}  {row['text']}{when}")
        if row["failing"]:
            print("        NOW FAILING: done, but its latest check did not pass")
        if row["reason"]:
            word = "skipped" if row["state"] == "skipped" else "ticked over its check"
            print(f"        {word}: {row['reason']}")
        if row["check"]:
            stale = " (stale: older than its last successful run)" if row["check"]["stale"] else ""
            print(f"        check {row['check']['status']}{stale}: {row['check']['summary']}")
        for run in row["runs"]:
            end = (f"exit {run['exit_code']}" if run["exit_code"] is not None
                   else ("ended" if run["finished"] else "running"))
            print(f"        run {run['run']}: {run['command']}  ({end})")
        if row["note"]:
            print(f"        note: {row['note']}")


def _close(store: SessionStore, args: argparse.Namespace) -> int:
    kind = "session_finished" if args.command == "finish" else "session_abandoned"
    session_id = _pick(store, args.session, active_only=True)
    # look first, so closing a closed session records nothing (not even a resume)
    status = store.open(session_id, read_only=True).state().status
    if status != "active":
        raise RsdeployError(f"Session already {status}",
                            f"Session {session_id} is already {status}; nothing changed.")
    session = store.open(session_id, operator=args.operator, take_over=args.take_over)
    try:
        for warning in session.warnings:
            print(f"rsdeploy-tui: warning: {warning}", file=sys.stderr)
        session.record(kind)
        summary: SessionSummary = session.summary()
    finally:
        session.close()
    word = "finished" if kind == "session_finished" else "abandoned"
    print(f"Session {session_id} {word}: {summary.done}/{summary.total} done or skipped, "
          f"{summary.critical_pending} critical pending.")
    return 0
