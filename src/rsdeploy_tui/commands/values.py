"""``rsdeploy-tui values [SESSION] [--json]``: every ``${name}`` of a session, its value and source.

Opens the session read-only (works while the app drives it) and asks the same resolver the app,
the checks and the reports use (``values.session_values``). Secret values never print: a value
is masked by the session's redaction, and the checklist's secrets are listed as coming from the
environment, with only whether they are set here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rsdeploy_tui.checklist.vars import parse_overrides
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import SessionStore


def run(args: argparse.Namespace) -> int:
    """Print the values; exit 0, or 1 with a sentence on stderr (no session)."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.commands.followed import followed_checklist
    from rsdeploy_tui.values import session_values

    store = SessionStore()
    session_id = args.session
    if not session_id:
        latest = store.latest(active_only=True)
        if latest is None:
            raise RsdeployError("No active session",
                                f"There is no active session in {store.root}; name one "
                                "(`rsdeploy-tui sessions` lists them).")
        session_id = latest.id
        print(f"Latest active session: {session_id}", file=sys.stderr)
    overrides = parse_overrides(args.overrides)
    session = store.open(session_id, read_only=True)
    try:
        if args.checklist:
            checklist = load_checklist(Path(args.checklist))
        else:
            checklist = followed_checklist(session.id, session.meta.checklist,
                                           session.meta.checklist_path)
        resolution = session_values(checklist, session, overrides=overrides)
        redact = session.redactor.text
        rows = [{"name": name, "value": redact(src.value), "source": src.source,
                 "detail": redact(src.detail)}
                for name, src in sorted(resolution.sources.items())]
        secrets = [{"name": name, "source": "environment",
                    "set": bool(os.environ.get(name))} for name in checklist.secrets]
    finally:
        session.close()
    if args.json:
        print(json.dumps({"session": session.id, "checklist": checklist.name,
                          "values": rows, "secrets": secrets}, indent=2))
        return 0
    print(f"Values of session {session.id} ({checklist.name}):")
    width = max((len(r["name"]) for r in rows + secrets), default=4)
    for row in rows:
        value = row["value"] if row["value"] else "(not set)"
        where = row["source"] + (f": {row['detail']}" if row["detail"] else "")
        print(f"  {row['name']:<{width}}  {value}    [{where}]")
    for secret in secrets:
        state = "****" if secret["set"] else "(not set here)"
        print(f"  {secret['name']:<{width}}  {state}    [environment only: a secret]")
    return 0
