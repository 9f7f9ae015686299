"""``rsdeploy-tui report [SESSION] [-o FILE] [--format md|json]``: the deployment log of a session.

Opens the session read-only (works while another process drives it), loads the checklist the
session follows (``--checklist`` wins, then the recorded path, then the bundled one) and prints or
writes the log.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.checklist.vars import parse_overrides
from rsdeploy_tui.reports import render_report
from rsdeploy_tui.reports.files import write_atomic
from rsdeploy_tui.session import Session, SessionStore


def _checklist_for(args: argparse.Namespace, session: Session) -> Checklist:
    if args.checklist:
        return load_checklist(Path(args.checklist))
    from rsdeploy_tui.commands.followed import followed_checklist

    return followed_checklist(session.id, session.meta.checklist, session.meta.checklist_path)


def _open(store: SessionStore, wanted: str | None) -> Session:
    if wanted is None:
        from rsdeploy_tui.session.view import default_session

        wanted, which = default_session(store)
        print(f"rsdeploy-tui: {which}", file=sys.stderr)
    return store.open(wanted, read_only=True)


def run(args: argparse.Namespace) -> int:
    """Print or write the deployment log; exit 0, or 1 with a sentence on stderr."""
    store = SessionStore()
    session = _open(store, args.session)
    try:
        checklist = _checklist_for(args, session)
        overrides = parse_overrides(args.overrides)
        from rsdeploy_tui.values import session_values

        # The same values the app shows and runs with (set values and facts included).
        values = session_values(checklist, session, overrides=overrides).values
        text = render_report(checklist, session, args.format, vars=values)
    finally:
        session.close()
    if args.output:
        write_atomic(Path(args.output), text)
        print(f"Deployment log of session {session.id} written to {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
