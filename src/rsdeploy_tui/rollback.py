"""Rollback, ready before it is needed: the Rollback phase's steps pre-filled from session facts.

Facts recorded during the session (``previous_version`` from ``capture_version``, ``backup_key`` /
``backup_file`` / ``backup_format`` from ``db_backup``, ``previous_migrations``...) are merged
over the checklist vars (``vars_with_facts``), so the bundled rollback commands
(``eb deploy ${eb_env} --version ${previous_version}``) expand to this session's values. A step
whose command refers to a var that is still empty is not ready: its ``missing`` list says what is
missing and how to get it, and the UI shows that instead of running a command with a blank.
No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from rsdeploy_tui.checklist.model import ROLLBACK_PHASE, Checklist, Criterion, Item
from rsdeploy_tui.checklist.vars import OPTIONAL_VARS, expand, missing_marker, references
from rsdeploy_tui.records import datarecord

FACT_HINTS: dict[str, str] = {
    "previous_version": (
        "previous_version not captured — run 'Capture current EB version' in Deployment, "
        "or press v to set it (the version label live before the deploy; from a shell: "
        "`rsdeploy-tui resume --set previous_version=LABEL`)"
    ),
    "backup_key": (
        "no database backup uploaded in this session (backup_key) — run 'Create immediate "
        "database backup' in Deployment, or press v to set backup_key to the S3 key of a "
        "verified backup (from a shell: `rsdeploy-tui resume --set backup_key=KEY`)"
    ),
    "backup_file": (
        "no database backup file in this session (backup_file) — run 'Create immediate "
        "database backup' in Deployment, or press v to set backup_file (from a shell: "
        "`rsdeploy-tui resume --set backup_file=NAME`)"
    ),
    "previous_tag": (
        "previous_tag not set — press v to set it to the commit or tag live before (from a "
        "shell: `rsdeploy-tui resume --set previous_tag=TAG`), "
        "or use 'Or restore from previous EB version' instead"
    ),
    "rollback_app": (
        "pre-migration state not recorded — run the check of 'No destructive migrations' in "
        "Pre-Deployment before migrating (it records the plan), or press v to set "
        "rollback_app and rollback_migration (from a shell: `rsdeploy-tui resume --set "
        "rollback_app=APP --set rollback_migration=NNNN`)"
    ),
    "rollback_migration": (
        "pre-migration state not recorded — run the check of 'No destructive migrations' in "
        "Pre-Deployment before migrating (it records the plan), or press v to set "
        "rollback_app and rollback_migration (from a shell: `rsdeploy-tui resume --set "
        "rollback_app=APP --set rollback_migration=NNNN`)"
    ),
    "media_backup_prefix": (
        "no media backup in this session — run 'Backup current media files' in Deployment, "
        "or press v to set media_backup_prefix"
    ),
}
"""How to get each fact a rollback step may need (shown when it is missing)."""



def vars_with_facts(vars: Mapping[str, str], facts: Mapping[str, Any]) -> dict[str, str]:
    """The vars with session facts merged over them (a non-empty fact wins over a var).

    Scalar facts become strings (``True`` -> ``true``); dicts and lists are left out (they are not
    text). A fact recorded empty does not blank a var that has a value.
    """
    merged = dict(vars)
    for name, value in facts.items():
        if isinstance(value, dict | list | tuple) or value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text or not merged.get(name):
            merged[name] = text
    return merged


@datarecord(frozen=True)
class RollbackStep:
    """One Rollback-phase item, pre-filled for this session."""

    item: Item
    """The checklist item."""
    command: str | None
    """The command as shown (vars and facts expanded, secrets masked); None when it has none."""
    shell: str | None
    """The command to run (secrets as ``${NAME}`` references); None when it must not run."""
    missing: list[str] = field(default_factory=list)
    """What is missing and how to get it; non-empty means the step must not run."""
    notes: list[str] = field(default_factory=list)
    """Warnings that do not block (backup not verified yet ...)."""
    confirm: str | None = None
    """Text to type before running (the environment name for destructive steps), expanded."""

    @property
    def qid(self) -> str:
        """The item's qualified id."""
        return self.item.qid

    @property
    def ready(self) -> bool:
        """Has a command and nothing is missing."""
        return self.shell is not None and not self.missing


def _needed_vars(text: str) -> list[str]:
    """Names of ``${var}`` references in ``text`` (``${env:...}`` excluded), in order, once."""
    return list(dict.fromkeys(name for kind, name in references(text) if kind == "var"))


def missing_hint(name: str) -> str:
    """How to give a value that is missing: the app's ``v`` key, or ``resume --set``."""
    return FACT_HINTS.get(
        name, f"{name} is not set — press v to set it (from a shell: "
        f"`rsdeploy-tui resume --set {name}=VALUE`)")



_PLANNED = re.compile(r"^(?P<app>[A-Za-z_]\w*)\.(?P<number>\d{4})_\w*$")


def previous_migrations_from_plan(plan: Any) -> dict[str, str]:
    """app -> migration to go back to, from the ``migration_plan`` fact (``migrate --plan``).

    The target is the number before the app's first planned migration (Django accepts a unique
    prefix such as ``0041``), or ``zero`` when the first planned one is ``0001``.
    """
    if not isinstance(plan, list):
        return {}
    first: dict[str, int] = {}
    for line in plan:
        match = _PLANNED.match(str(line).rstrip())
        if match:
            first.setdefault(match["app"], int(match["number"]))
    return {app: (f"{number - 1:04d}" if number > 1 else "zero")
            for app, number in first.items()}


def recorded_migrations(facts: Mapping[str, Any]) -> dict[str, str]:
    """``previous_migrations`` when recorded, else what ``migration_plan`` implies."""
    recorded = facts.get("previous_migrations")
    if isinstance(recorded, dict) and recorded:
        return {str(k): str(v or "zero") for k, v in recorded.items()}
    return previous_migrations_from_plan(facts.get("migration_plan"))


def _per_app_migrations(command: str, facts: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """Repeat the ``migrate ${rollback_app} ${rollback_migration}`` line for each recorded app.

    Used when the state before migrating is known (``previous_migrations``, or the
    ``migration_plan`` recorded by the migrations check) and the operator did not name one app
    with --set.
    """
    recorded = recorded_migrations(facts)
    if not isinstance(recorded, dict) or not recorded or values.get("rollback_app"):
        return command
    out = []
    for line in command.splitlines():
        if "${rollback_app}" in line and "${rollback_migration}" in line:
            for app, migration in sorted(recorded.items()):
                out.append(line.replace("${rollback_app}", str(app))
                           .replace("${rollback_migration}", str(migration or "zero")))
        else:
            out.append(line)
    return "\n".join(out)


_PSQL_RESTORE = re.compile(r"^(\s*)psql (.*?)\s*<\s*\$\{backup_file\}\s*$", re.M)


def _restore_tool(command: str, facts: Mapping[str, Any]) -> str:
    """A custom-format backup is restored with pg_restore, not ``psql < file``."""
    if facts.get("backup_format") != "custom":
        return command
    return _PSQL_RESTORE.sub(
        lambda m: f"{m.group(1)}pg_restore --clean --if-exists --no-owner {m.group(2)} "
        "${backup_file}", command)


def command_template(item: Item, facts: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """The item's command before expansion, as this session will run it (one migrate line per
    recorded app, pg_restore for a custom-format backup)."""
    return _restore_tool(_per_app_migrations(item.command or "", facts, values), facts)


def prefill(item: Item, values: Mapping[str, str], facts: Mapping[str, Any],
            secrets: Iterable[str] = ()) -> RollbackStep:
    """One item's step: expanded command, or the list of what is missing.

    ``command`` is what the detail panel shows and ``r`` records (a missing value reads
    ``‹name: not set›``); ``shell`` is what runs. Any item's command goes through here.
    """
    secret_names = tuple(secrets)
    confirm = expand(item.confirm, values, secrets=secret_names) if item.confirm else None
    if item.command is None:
        return RollbackStep(item, None, None, [], [], confirm)
    template = command_template(item, facts, values)
    empty = [name for name in _needed_vars(template)
             if name not in OPTIONAL_VARS and not values.get(name, "")]
    missing = [missing_hint(name) for name in empty]
    notes = []
    if ("backup_key" in _needed_vars(template) and values.get("backup_key")
            and facts.get("backup_verified") is not True):
        notes.append("this session's backup is not verified yet — run 'Verify backup "
                     "integrity' first if there is time")
    # A missing value stays visible on screen, never as a blank.
    shown_values = {**values, **{name: missing_marker(name) for name in empty}}
    shown = expand(template, shown_values, secrets=secret_names, mode="display")
    shell = None if missing else expand(template, values, secrets=secret_names, mode="shell")
    return RollbackStep(item, shown, shell, missing, notes, confirm)


def rollback_plan(checklist: Checklist, state: Any, vars: Mapping[str, str],
                  phase_id: str = ROLLBACK_PHASE, *, resolved: bool = False) -> list[RollbackStep]:
    """Every item of the Rollback phase, pre-filled from the session's facts.

    Args:
        checklist: The loaded checklist.
        state: The session state (``SessionState``; only ``.facts`` is read).
        vars: Resolved vars (``resolve_vars``).
        phase_id: The rollback phase's id.
        resolved: ``vars`` are already the session's values (``values.session_values``: facts
            and values set in the session in journal order); do not merge facts again.
    """
    facts = dict(getattr(state, "facts", {}) or {})
    values = dict(vars) if resolved else vars_with_facts(vars, facts)
    try:
        phase = checklist.phase(phase_id)
    except KeyError:
        return []
    return [prefill(item, values, facts, checklist.secrets) for item in phase.items]


def plan_missing(steps: Iterable[RollbackStep]) -> list[str]:
    """Every distinct missing-fact sentence of a plan, in step order."""
    return list(dict.fromkeys(m for step in steps for m in step.missing))


def triggered_rollbacks(checklist: Checklist, state: Any) -> list[tuple[Criterion, str]]:
    """(criterion, item qid) for each failed check on an item with a ``rollback_trigger``."""
    fired: list[tuple[Criterion, str]] = []
    items = getattr(state, "items", {}) or {}
    for item in checklist.iter_items():
        if not item.rollback_trigger:
            continue
        record = items.get(item.qid)
        check = getattr(record, "check", None)
        if check is None or getattr(check, "status", None) != "fail":
            continue
        criterion = checklist.trigger(item.rollback_trigger)
        if criterion is not None:
            fired.append((criterion, item.qid))
    return fired


def describe_trigger(checklist: Checklist, criterion: Criterion, qid: str) -> str:
    """A banner sentence: which criterion fired and on which item."""
    item = checklist.find_item(qid)
    what = re.sub(r"\s+", " ", item.text) if item else qid
    return f"Rollback criterion: {criterion.text} — check failed on '{what}' ({qid})."
