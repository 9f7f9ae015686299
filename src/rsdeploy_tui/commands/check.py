"""``rsdeploy-tui check``: run the checklist's automated checks headless (cron, CI).

Exit status: 0 when nothing failed or errored, 1 otherwise, 2 on usage or checklist errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from rsdeploy_tui import locations
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.model import Checklist, Item
from rsdeploy_tui.checklist.vars import check_overrides, parse_overrides, resolve_vars
from rsdeploy_tui.checks.registry import CheckContext, CheckResult, run_checks
from rsdeploy_tui.errors import RsdeployError, UsageError


def run(args: argparse.Namespace) -> int:
    """Load, select, run, print; record into ``--session`` when given."""
    overrides = parse_overrides(args.overrides)
    if args.concurrency < 1:
        raise UsageError("Bad --concurrency", "--concurrency must be 1 or more.")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("Bad --timeout", "--timeout must be a positive number of seconds.")
    session = None
    if args.session:
        from rsdeploy_tui.session import SessionStore

        try:
            session = SessionStore().open(args.session, operator=args.operator)
        except RsdeployError as error:
            print(f"rsdeploy-tui: {error.title}\n{error.message}", file=sys.stderr)
            return 2
    try:
        checklist, items, values = _load_and_select(args, overrides, session)
    except RsdeployError as error:
        if session is not None:
            session.close()
        if isinstance(error, UsageError):
            raise
        print(f"rsdeploy-tui: {error.title}\n{error.message}", file=sys.stderr)
        return 2

    try:
        ctx = CheckContext(vars=values, timeout=args.timeout, environ=dict(os.environ),
                           secrets=tuple(checklist.secrets))
        if session is not None:
            state = session.state(checklist)
            ctx.facts = dict(state.facts)
            ctx.results = {qid: s.check for qid, s in state.items.items() if s.check is not None}
            ctx.redact = session.redactor
        progress = Progress(len(items), enabled=sys.stderr.isatty() and not args.json)

        def on_result(item: Item, result: CheckResult) -> None:
            if session is not None:
                session.record("check_result", item=item.qid, **result.as_dict())
                plan = result.evidence.get("plan")
                if item.check is not None and item.check.type == "migrations" and plan:
                    # Same fact the TUI records: the deployment log and rollback read it.
                    session.record("fact", name="migration_plan", value=plan)
            progress.update(item, result)

        refused = not_checked(items, values)
        ready = [item for item in items if item.qid not in refused]
        results = asyncio.run(run_checks(ready, ctx, args.concurrency, on_result)) if ready \
            else {}
        results.update(refused)
        progress.done()
    finally:
        if session is not None:
            session.close()

    rows = [{"item": item.qid, "type": item.check.type if item.check else "",
             **results[item.qid].as_dict()} for item in items if item.qid in results]
    from rsdeploy_tui.commands.printable import printable_stdout

    with printable_stdout():  # evidence may hold a command's escape sequences
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print_table(rows)
    bad = [r for r in rows if r["status"] in ("fail", "error")]
    return 1 if bad else 0



def _load_and_select(args: argparse.Namespace, overrides: dict[str, str],
                     session: Any) -> tuple[Checklist, list[Item], dict[str, str]]:
    """The checklist (``--checklist``, else the session's own file, else bundled), items, vars.

    With ``--session`` the results are recorded in that session, so they must be about its
    items: checking the bundled checklist into a session that follows another file would
    mix two checklists in one journal.
    """
    if args.checklist:
        path: Path | None = Path(args.checklist)
    elif session is not None:
        recorded = session.meta.checklist_path
        if not recorded or not Path(recorded).is_file():
            raise RsdeployError(
                "Session checklist not found",
                f"Session {session.id} follows {recorded or 'an unrecorded file'}, which is not "
                "there now; pass --checklist PATH to say which checklist to check.")
        path = Path(recorded)
    else:
        path = locations.bundled_checklist()
    checklist = load_checklist(path)
    check_overrides(checklist, overrides)
    if session is not None:
        # The same resolver as the app: the session's recorded vars (a --set given when it
        # started, e.g. a staging base_url), values set later and captured facts; this run's
        # --set wins over all of them (not recorded).
        from rsdeploy_tui.values import session_values

        values = session_values(checklist, session, overrides=overrides).values
    else:
        values = resolve_vars(checklist, overrides)
    items = select_items(checklist, args.phase or [], args.item or [])
    if session is not None:
        known = set(session.meta.items)
        foreign = [item.qid for item in items if item.qid not in known]
        if foreign:
            raise RsdeployError(
                "Checklist does not match the session",
                f"Session {session.id} follows {session.meta.checklist} "
                f"({session.meta.checklist_path}); {path} has items it does not know: "
                f"{', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}. "
                "Check the session's own checklist (omit --checklist) or resume it in the "
                "TUI to adopt the changed file.")
    return checklist, items, values

def not_checked(items: list[Item], values: dict[str, str]) -> dict[str, CheckResult]:
    """An ``error`` result for each item whose check params refer to a value that is not set:
    a check run with a blank proves nothing (nothing is recorded for them)."""
    from rsdeploy_tui.checklist.vars import OPTIONAL_VARS, references
    from rsdeploy_tui.values import check_templates

    refused: dict[str, CheckResult] = {}
    for item in items:
        names = list(dict.fromkeys(
            name for text in check_templates(item) for kind, name in references(text)
            if kind == "var" and name not in OPTIONAL_VARS and not values.get(name)))
        if names:
            how = ", ".join(f"--set {name}=VALUE" for name in names)
            refused[item.qid] = CheckResult(
                "error", f"not checked: {', '.join(names)} not set (give it with {how}, or "
                "set it in the session: v in the app)")
    return refused


def select_items(checklist: Checklist, phases: list[str], refs: list[str]) -> list[Item]:
    """Items with a check, limited to ``phases`` and ``refs`` when given (UsageError if unknown)."""
    known_phases = {p.id for p in checklist.phases}
    for phase in phases:
        if phase not in known_phases:
            raise UsageError("Unknown phase", f"no phase '{phase}'; phases are: "
                             f"{', '.join(p.id for p in checklist.phases)}.")
    chosen: list[Item] = []
    for ref in refs:
        item = checklist.find_item(ref)
        if item is None:
            raise UsageError("Unknown item", f"no item '{ref}' in {checklist.name}.")
        if item.check is None:
            raise UsageError("Item has no check", f"'{item.qid}' has no automated check.")
        chosen.append(item)
    if not refs:
        chosen = [i for i in checklist.items if i.check is not None]
    if phases:
        chosen = [i for i in chosen if i.phase_id in phases]
    if not chosen:
        raise UsageError("Nothing to check", "no item with a check matches the selection.")
    return list({item.qid: item for item in chosen}.values())


class Progress:
    """``[done/total] running N — last: item status`` on stderr when it is a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.count, self.enabled = total, 0, enabled
        self.failed = 0
        self._write(f"[0/{total}] running checks…")

    def update(self, item: Item, result: CheckResult) -> None:
        self.count += 1
        self.failed += result.status in ("fail", "error")
        self._write(f"[{self.count}/{self.total}] {self.failed} failed — last: {item.qid} "
                    f"{result.status}")

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _write(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K" + text[:200])
            sys.stderr.flush()


_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per check, then the counts."""
    width = max((len(r["item"]) for r in rows), default=4)
    type_width = max((len(r["type"]) for r in rows), default=4)
    from rsdeploy_tui.checks.evidence import evidence_lines

    for row in rows:
        print(f"{_MARK.get(row['status'], row['status']):<6} {row['item']:<{width}}  "
              f"{row['type']:<{type_width}}  {row['duration_s']:>6.2f}s  {row['summary']}")
        if row["status"] in ("fail", "error"):
            # What was observed, as text, under a check that did not pass.
            for line in evidence_lines(row.get("evidence"), " " * 7):
                print(line)
    counts = {s: sum(r["status"] == s for r in rows) for s in _MARK}
    print(f"\n{len(rows)} checks: {counts['pass']} passed, {counts['fail']} failed, "
          f"{counts['error']} errors, {counts['skipped']} skipped")
