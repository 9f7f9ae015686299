"""``rsdeploy-tui validate [PATH] [--json]``: load a checklist and print counts or every problem."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rsdeploy_tui import locations
from rsdeploy_tui.checklist import ChecklistError, load_checklist
from rsdeploy_tui.checklist.export import checklist_to_dict, counts
from rsdeploy_tui.checklist.vars import parse_overrides, resolve_vars
from rsdeploy_tui.errors import RsdeployError


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the checklist is valid, 1 when it is not (2 for usage errors, via the CLI)."""
    overrides = parse_overrides(args.overrides)
    given = args.path or args.checklist
    path = Path(given) if given else locations.bundled_checklist()
    try:
        checklist = load_checklist(path)
        resolved = resolve_vars(checklist, overrides)
    except ChecklistError as error:
        if args.json:
            problems = [
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
                for p in error.problems
            ]
            print(json.dumps({"valid": False, "file": str(path), "problems": problems}, indent=2))
        else:
            print(f"rsdeploy-tui: {error.title}\n{error.message}", file=sys.stderr)
        return 1
    except RsdeployError as error:
        if args.json:
            print(json.dumps({"valid": False, "file": str(path),
                              "problems": [{"file": str(path), "line": 0, "field": "-",
                                            "message": str(error)}]}, indent=2))
            return 1
        raise
    if args.json:
        from rsdeploy_tui.session.redact import Redactor, secret_var_values

        data = checklist_to_dict(checklist)
        data["resolved_vars"] = resolved
        data["valid"] = True
        # a var default may hold a password (postgres://u:pw@h/db, api_token: ...)
        redactor = Redactor(checklist.secrets)
        redactor.add_values(secret_var_values(resolved))
        print(json.dumps(redactor.value(data), indent=2))
        return 0
    figures = counts(checklist)
    print(f"{checklist.name}  ({path})")
    print(
        f"valid: {figures['phases']} phases, {figures['sections']} sections, "
        f"{figures['items']} items ({figures['critical']} critical, "
        f"{figures['with_command']} with a command or action, {figures['with_check']} with a check)"
    )
    # Column widths follow the longest id and title (imported checklists have long slugs).
    id_width = max(len(phase.id) for phase in checklist.phases)
    title_width = max(len(phase.title) for phase in checklist.phases)
    for phase in checklist.phases:
        gate = f"  gate: {', '.join(phase.gate)}" if phase.gate else ""
        print(f"  {phase.id:<{id_width}}  {phase.title:<{title_width}}  "
              f"{len(phase.items):>3} items{gate}")
    return 0
