"""Destructive migrations stop: a forward ``migrate`` asks first when the plan loses data (#13.8).

How the app knows an item migrates forward: its command (after ``${var}`` expansion) has a line
running ``manage.py migrate`` / ``${manage} migrate`` / ``django-admin migrate`` without
``--plan``, ``--check``, ``--fake`` or an explicit target migration (``migrate app 0001`` or
``zero`` names where to go, possibly backwards: that is the Rollback phase's own step, which has
its typed confirmation). Any checklist works, no item field needed.

What it asks, from the session's latest ``migrations`` check result (any item whose check type
is ``migrations``):
- the check named destructive migrations → type their names, space-separated, exactly;
- no such check passed or failed in this session (none ran, or it errored / was skipped) → a
  typed override reason;
- the check found nothing destructive → nothing to ask.
The answer is recorded as a ``confirmation`` event (``purpose`` ``destructive_migrations`` or
``migrations_unchecked``) before the command starts; the deployment log lists it. The pure
functions here take no Textual; ``ask`` pushes the dialogs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.records import datarecord

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import SessionState
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen

_MIGRATE = re.compile(r"(?:\bmanage(?:\.py)?|\bdjango-admin)\s+migrate\b(?P<args>[^\n;&|]*)")
_NOT_APPLYING = frozenset({"--plan", "--check", "--fake", "--help", "-h", "--prune"})
_TAKES_VALUE = frozenset({"--database", "--settings", "--pythonpath", "-v", "--verbosity"})

PURPOSE_DESTRUCTIVE = "destructive_migrations"
PURPOSE_UNCHECKED = "migrations_unchecked"


def runs_forward_migrate(command: str) -> bool:
    """Whether a shell command applies Django migrations forward (see the module docstring)."""
    for line in command.splitlines():
        if line.strip().startswith("#"):
            continue
        for match in _MIGRATE.finditer(line):
            try:
                args = shlex.split(match.group("args"), comments=True)
            except ValueError:  # an unbalanced quote: e.g. inside `eb ssh --command "..."`
                args = match.group("args").replace('"', " ").replace("'", " ").split()
            if any(a.split("=")[0] in _NOT_APPLYING for a in args):
                continue
            positional, skip = [], False
            for arg in args:
                if skip:
                    skip = False
                elif arg in _TAKES_VALUE:
                    skip = True
                elif not arg.startswith("-"):
                    positional.append(arg)
            if len(positional) < 2:
                return True
    return False


@datarecord(frozen=True)
class MigrationGate:
    """What the operator must answer before a forward migrate runs."""

    destructive: tuple[tuple[str, str], ...]
    """(migration, operation) the latest migrations check called destructive; empty = unchecked."""
    check_item: str | None
    """Qid of the item whose migrations check decided it (None: no check ran)."""
    checked_at: str | None
    """When that check's result was recorded."""
    why: str
    """One sentence for the dialog: what the session knows."""

    @property
    def names(self) -> list[str]:
        """The destructive migrations, each once, in plan order."""
        return list(dict.fromkeys(name for name, _ in self.destructive))


def _destructive(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(migration, operation) pairs from a migrations check's evidence, tolerant of its shape."""
    found: list[tuple[str, str]] = []
    for entry in evidence.get("destructive") or []:
        if isinstance(entry, Mapping):
            name = str(entry.get("migration") or "").strip()
            if name:
                found.append((name, str(entry.get("operation") or "").strip()))
        elif str(entry).strip():
            text = str(entry).strip()
            name, _, operation = text.partition(":")
            found.append((name.strip(), operation.strip()))
    return found


def migration_gate(checklist: Checklist, state: SessionState) -> MigrationGate | None:
    """The question to ask before a forward migrate, or None when the session's latest
    migrations check found nothing destructive."""
    latest = None
    for item in checklist.iter_items():
        if item.check is None or item.check.type != "migrations":
            continue
        record = state.item(item.qid).check
        if record is not None and (latest is None or record.seq > latest[1].seq):
            latest = (item.qid, record)
    if latest is None or latest[1].status not in ("pass", "fail"):
        why = ("No migration check ran in this session, so nobody knows whether these "
               "migrations drop data." if latest is None else
               f"The latest migration check ({latest[0]}) did not read the plan "
               f"({latest[1].status}: {latest[1].summary}).")
        qid = latest[0] if latest else None
        return MigrationGate((), qid, latest[1].at if latest else None, why)
    qid, record = latest
    destructive = _destructive(record.evidence or {})
    if not destructive:
        return None
    return MigrationGate(tuple(destructive), qid, record.at,
                         f"The migration check ({qid}) found {len(destructive)} destructive "
                         "operation(s): data is lost when they run.")


def ask(screen: RunbookScreen, item_qid: str, gate: MigrationGate, display: str,
        proceed: Callable[[], None]) -> None:
    """Ask (typed names, or a typed override reason), record the answer, then ``proceed``."""
    from rich.text import Text

    body = Text()
    body.append(gate.why + "\n\n", style="bold red")
    for name, operation in gate.destructive:
        body.append(f"  {name}", style="bold")
        body.append(f"  {operation}\n" if operation else "\n")
    body.append(f"\n$ {display}")
    if gate.destructive:
        expected = " ".join(gate.names)

        def typed(answer: str | None) -> None:
            if answer is None:
                screen.notify("Not run: the destructive migrations were not confirmed.")
                return
            if screen.record("confirmation", item=item_qid, text=answer, command=display,
                             purpose=PURPOSE_DESTRUCTIVE, migrations=gate.names,
                             check=gate.check_item, check_at=gate.checked_at):
                proceed()

        from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal
        screen.app.push_screen(TypedConfirmModal("Destructive migrations", body, expected,
                                                 ok_label="Migrate"), typed)
        return

    def reason(answer: str | None) -> None:
        if not answer:
            screen.notify("Not run: migrations without a checked plan need a reason.")
            return
        if screen.record("confirmation", item=item_qid, text=answer, command=display,
                         purpose=PURPOSE_UNCHECKED, reason=answer, check=gate.check_item,
                         check_at=gate.checked_at):
            proceed()

    from rsdeploy_tui.ui.screens.modals import ReasonModal
    body.append("\n\nRun the migration check first (c on it), or give the reason to go on.")
    screen.app.push_screen(ReasonModal("Migrations not checked",
                                       "Override reason (recorded in the deployment log)",
                                       body=body, ok_label="Override and migrate"), reason)
