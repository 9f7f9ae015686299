"""``conflicts``: the events set aside after a conflict between machines, and the decision.

``rsdeploy-tui conflicts [ID]`` lists each side file of the session (every session of this
machine that has one, without an id) with its events as readable lines, and the decision taken
on it; ``--rerecord all|N,N`` records them (or the chosen ones) again on top of the store's
journal, ``--keep-store`` records that they stay set aside. Deciding opens the session by the
normal rules (its lease; ``--take-over`` as for ``resume``). The side file is never deleted.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import UsageError
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.conflicts import NOT_REPLAYED, SideFile, side_files
from rsdeploy_tui.session.view import recorded_checklist

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist


def run(args: argparse.Namespace) -> int:
    """List, or decide with ``--rerecord`` / ``--keep-store``."""
    from rsdeploy_tui.commands.printable import printable_stdout

    store = SessionStore()
    if args.rerecord is not None or args.keep_store:
        return _decide(store, args)
    ids = [args.session] if args.session else _with_side_files(store)
    found = []
    for session_id in ids:
        session = store.open(session_id, read_only=True)
        checklist, _note = recorded_checklist(session.meta)
        files = side_files(session.dir, session.events)
        if not args.all:
            files = [side for side in files if side.decision is None]
        found.append((session_id, files, checklist))
    with printable_stdout():  # set-aside notes and commands may hold escape sequences
        if args.json:
            print(json.dumps([{"session": sid, "side_files": [_as_json(side, cl)
                                                                for side in files]}
                              for sid, files, cl in found], indent=2, ensure_ascii=False))
            return 0
        if not any(files for _sid, files, _cl in found):
            where = f"session {args.session}" if args.session else f"the sessions in {store.root}"
            print(f"No events set aside waiting for a decision in {where}."
                  + ("" if args.all else " (--all lists the decided ones too)"))
            return 0
        for session_id, files, checklist in found:
            for side in files:
                _print_side(session_id, side, checklist)
    return 0


def _with_side_files(store: SessionStore) -> list[str]:
    """This machine's sessions that have a side file."""
    try:
        return sorted((d.name for d in store.root.iterdir()
                       if d.is_dir() and any(d.glob("events.jsonl.conflict-*"))), reverse=True)
    except FileNotFoundError:
        return []


def _lines(side: SideFile, checklist: Checklist | None) -> list[tuple[Any, str, bool]]:
    from rsdeploy_tui.reports.wording import event_line, run_commands

    commands = run_commands(side.events)
    return [(event, event_line(event, checklist, commands), event.kind not in NOT_REPLAYED)
            for event in side.events]


def _as_json(side: SideFile, checklist: Checklist | None) -> dict[str, Any]:
    decision = side.decision
    return {
        "name": side.name, "path": str(side.path), "sha256": side.sha256,
        "set_aside_at": side.set_aside_at,
        "decision": None if decision is None else {
            "decision": decision.data.get("decision"), "by": decision.operator,
            "at": decision.at, "host": decision.host, "seq": decision.seq,
            "rerecorded": decision.data.get("rerecorded"),
            "set_aside": decision.data.get("set_aside")},
        "events": [{**event.to_dict(), "text": text, "replayable": replayable}
                   for event, text, replayable in _lines(side, checklist)],
    }


def _print_side(session_id: str, side: SideFile, checklist: Checklist | None) -> None:
    print(f"Session {session_id}: {side.name} ({side.path})")
    print(f"  {len(side.events)} events set aside {side.set_aside_at.replace('T', ' ')}")
    for _event, text, replayable in _lines(side, checklist):
        print(f"  {text}" + ("" if replayable else "  (how a process opened the session: "
                                                    "never recorded again)"))
    decision = side.decision
    if decision is not None:
        what = ("re-recorded " + (", ".join(f"#{n}" for n in decision.data.get("rerecorded")
                                             or []) or "nothing")
                if decision.data.get("decision") == "rerecorded"
                else "kept the store's journal; the events stay set aside in the file")
        print(f"  Decided by {decision.operator} on {decision.host} at "
              f"{decision.at[:19].replace('T', ' ')} UTC (event {decision.seq}): {what}.")
        return
    print("  Not decided: the session opens read-only until it is. Decide with:")
    print(f"    rsdeploy-tui conflicts {session_id} --rerecord all     record them again on "
          "top of the store's journal")
    print(f"    rsdeploy-tui conflicts {session_id} --rerecord 7,9     only those (a run's "
          "start and end go together)")
    print(f"    rsdeploy-tui conflicts {session_id} --keep-store       keep the store's "
          "journal; they stay in the file")
    print("  (--file NAME when there are several; --take-over as for resume.)")


def _numbers(text: str) -> list[int] | None:
    if text.strip().lower() == "all":
        return None
    try:
        numbers = [int(part.strip().lstrip("#")) for part in text.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers:
        raise UsageError("Bad --rerecord", f"--rerecord {text}: expected 'all' or event numbers "
                         "as listed, e.g. --rerecord 7,9.")
    return numbers


def _decide(store: SessionStore, args: argparse.Namespace) -> int:
    if not args.session:
        raise UsageError("Which session?", "Deciding needs the session id: "
                         "rsdeploy-tui conflicts ID --rerecord all|N,N / --keep-store.")
    if args.rerecord is not None and args.keep_store:
        raise UsageError("Two decisions", "Give --rerecord or --keep-store, not both.")
    viewer = store.open(args.session, read_only=True)
    waiting = [side for side in side_files(viewer.dir, viewer.events) if side.decision is None]
    if args.file:
        name = args.file
    elif len(waiting) == 1:
        name = waiting[0].name
    else:
        listed = ", ".join(side.name for side in waiting) or "none"
        raise UsageError("Which side file?", f"Session {args.session} has "
                         f"{len(waiting)} undecided side files ({listed}); name one with --file.")
    choice = "keep_store" if args.keep_store else "rerecord"
    seqs = None if args.rerecord is None else _numbers(args.rerecord)
    session = store.decide_conflict(args.session, name, choice, seqs, operator=args.operator,
                                    take_over=args.take_over)
    decision = session.events[-1]
    session.close()  # what was recorded goes up (up to 10 s), then the lease is let go
    for warning in session.warnings:
        print(f"rsdeploy-tui: warning: {warning}", file=sys.stderr)
    if choice == "keep_store":
        print(f"Session {args.session}: kept the store's journal; the events of {name} stay "
              f"set aside there (the decision is event {decision.seq}).")
    else:
        again = decision.data.get("rerecorded") or []
        shown = ", ".join(f"#{n}" for n in again) or "none"
        print(f"Session {args.session}: re-recorded {len(again)} events of {name} ({shown}) "
              f"on top of the store's journal (the decision is event {decision.seq}); the "
              "file is kept.")
    return 0
