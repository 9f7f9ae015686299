"""A session's values: the one resolver of ``checklist/vars.py`` fed from a session's journal.

Every place that expands ``${name}`` for a session (commands, checks, actions, the detail panel,
typed confirmations, reports, ``check --session``, ``values``) asks ``session_values`` and gets
the same answer. Values set later in the session are ``value_set`` events (who, when, old ->
new), so they survive every resume. No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.checklist.vars import (
    BUILTIN_VARS,
    READ_BY_CODE,
    Resolution,
    ValueChange,
    fact_change,
    resolve_values,
)
from rsdeploy_tui.errors import UsageError

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item
    from rsdeploy_tui.session import Session

VALUE_SET = "value_set"
"""Event kind: data ``name``, ``value``, ``old``, ``via`` (``app`` or ``resume --set``)."""

BUILTINS = BUILTIN_VARS
"""Values the program provides (source ``session``); they cannot be set."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def session_changes(events: Iterable[Any]) -> list[ValueChange]:
    """The ``value_set`` and scalar ``fact`` events of a journal, in order."""
    changes: list[ValueChange] = []
    for event in events:
        data = event.data or {}
        if event.kind == VALUE_SET:
            changes.append(ValueChange(str(data.get("name", "")), str(data.get("value", "")),
                                       "set", event.operator, event.at, event.item))
        elif event.kind == "fact":
            change = fact_change(str(data.get("name", "")), data.get("value"),
                                 by=event.operator, at=event.at, item=event.item)
            if change is not None:
                changes.append(change)
    return changes


def session_values(checklist: Checklist, session: Session, *,
                   start: Mapping[str, str] | None = None,
                   overrides: Mapping[str, str] | None = None,
                   config: Mapping[str, str] | None = None) -> Resolution:
    """Every value of ``session`` (see ``resolve_values`` for the order).

    Args:
        checklist: The checklist the session follows.
        session: An open session (read-only is fine).
        start: Values that count as given when the session started, over its recorded vars
            (``make_app(values=...)``).
        overrides: This run's ``--set`` that are not recorded (headless ``check``).
        config: Config-file values (None: the operator's config file).
    """
    meta = getattr(session, "meta", None)
    masked_as = _masked_as(session)
    # A value given at launch that the session can only record masked (a webhook token, a
    # password in a URL) is used for this launch over everything, since no event holds it.
    unstored = {name: value for name, value in (start or {}).items()
                if masked_as is not None and masked_as(name, value) != value}
    stored_start = {k: v for k, v in (start or {}).items() if k not in unstored}
    resolution = resolve_values(
        checklist,
        recorded={**dict(getattr(meta, "vars", None) or {}), **stored_start},
        changes=session_changes(session.events),
        builtins={"session_dir": str(session.dir)},
        overrides={**unstored, **dict(overrides or {})},
        config=config,
        masked_as=masked_as,
    )
    for name in unstored:
        if name not in (overrides or {}):
            source = resolution.sources[name]
            resolution.sources[name] = type(source)(
                name, source.value, "this run",
                "given at launch; holds a secret, so it is used, never stored")
    return resolution


def _masked_as(session: Session) -> Any:
    redactor = getattr(session, "redactor", None)
    if redactor is None:
        return None
    return lambda name, value: redactor.value({name: value}).get(name)


def refuse_name(checklist: Checklist, name: str) -> str | None:
    """Why ``name`` cannot be set in a session (None: it can)."""
    if not _NAME.match(name):
        return f"'{name}' is not a name (letters, digits and '_', not starting with a digit)."
    if name in set(checklist.secrets) or name.upper() in {s.upper() for s in checklist.secrets}:
        return (f"{name} is a secret: secrets come from the environment only "
                f"(export {name} before starting rsdeploy-tui) and are never stored.")
    if name in BUILTINS:
        return f"{name} is provided by rsdeploy-tui (the session's directory); it cannot be set."
    if name not in checklist.vars and name not in READ_BY_CODE:
        return (f"{checklist.name} has no var '{name}'; the values that can be set are its vars "
                "(`rsdeploy-tui values` lists them).")
    return None


def set_value(session: Session, checklist: Checklist, name: str, value: str, *,
              via: str, record: Any = None) -> bool:
    """Record ``value_set`` for ``name`` (who and when come with the event).

    Args:
        session: The open, writable session.
        checklist: Its checklist (secrets, var names).
        name: The var.
        value: The new value.
        via: ``app`` or ``resume --set``.
        record: The recording function (default ``session.record``; the runbook passes its own,
            which re-renders).

    Returns:
        What ``record`` returned (the runbook's says False when the store refused).

    Raises:
        UsageError: the name cannot be set (a secret, a built-in, unknown).
    """
    why = refuse_name(checklist, name)
    if why:
        raise UsageError("Value not set", why)
    old = session_values(checklist, session).values.get(name, "")
    recorder = record or session.record
    return bool(recorder(VALUE_SET, name=name, value=value, old=old, via=via))


def record_overrides(session: Session, checklist: Checklist, overrides: Mapping[str, str], *,
                     via: str) -> list[str]:
    """Record each ``--set`` given to a resume as ``value_set`` (only those that change).

    Returns:
        The names recorded.

    Raises:
        UsageError: one of them cannot be set (nothing is recorded then).
    """
    for name in overrides:
        why = refuse_name(checklist, name)
        if why:
            raise UsageError("Bad --set", f"--set {name}=...: {why}")
    current = session_values(checklist, session).values
    changed = [name for name, value in overrides.items() if current.get(name) != value]
    for name in changed:
        set_value(session, checklist, name, overrides[name], via=via)
    return changed


def item_templates(item: Item, facts: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """The texts ``r`` and ``c`` expand for ``item``: its command as it will run (per-app
    migrations, restore tool), action params, check params and confirmation."""
    from rsdeploy_tui.rollback import command_template

    texts: list[str] = []
    if item.command:
        texts.append(command_template(item, facts, values))
    if item.confirm:
        texts.append(item.confirm)
    for block in (item.action, item.check):
        if block is not None:
            texts.extend(param_strings(block.params))
    return texts


def check_templates(item: Item) -> list[str]:
    """The strings of the item's check params (what ``c`` expands)."""
    return param_strings(item.check.params) if item.check is not None else []


def param_strings(params: Any) -> list[str]:
    """Every string inside an action's or check's params (what gets expanded)."""
    if isinstance(params, str):
        return [params]
    if isinstance(params, Mapping):
        return [s for v in params.values() for s in param_strings(v)]
    if isinstance(params, list | tuple):
        return [s for v in params for s in param_strings(v)]
    return []
