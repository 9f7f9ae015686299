"""Reading one checklist field at a time, collecting every problem with its line and field.

``FieldReader`` is what the loader uses to walk the parsed YAML: each helper checks one value's
type, records a ``Problem`` when it is wrong, and returns a usable default so the walk goes on
and the operator sees every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rsdeploy_tui.checklist.yamlread import LineDict, LineList
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TOP_KEYS = {
    "name",
    "description",
    "vars",
    "secrets",
    "phases",
    "templates",
    "rollback_triggers",
    "success_criteria",
}
PHASE_KEYS = {"id", "title", "tab", "help", "gate", "sections", "items"}
SECTION_KEYS = {"id", "title", "help", "items"}
ITEM_KEYS = {
    "id",
    "text",
    "critical",
    "help",
    "command",
    "confirm",
    "interactive",
    "tick_on_success",
    "continue_on_error",
    "check",
    "auto_tick",
    "action",
    "requires",
    "rollback_trigger",
}
TEMPLATE_KEYS = {"title", "subject", "body"}
CRITERION_KEYS = {"id", "text", "items"}


@datarecord(frozen=True)
class Problem:
    """One thing wrong with a checklist file."""

    file: str
    """Path of the file."""
    line: int
    """1-based line (0 when the problem is about the whole file)."""
    field: str
    """Where in the structure, e.g. ``phases[pre].sections[database].items[db-backup].check``."""
    message: str
    """What is wrong and what was expected."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ChecklistError(RsdeployError):
    """A checklist that does not load; ``problems`` lists every problem found."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"Invalid checklist ({count} {noun})", f"{path}:\n{listing}")
        self.path = path
        self.problems = problems


def known_specs() -> tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]:
    """Check and action parameter specs (a light module; the check code itself is not imported)."""
    from rsdeploy_tui.checks.specs import ACTION_SPECS, CHECK_SPECS, COMMON

    return CHECK_SPECS, ACTION_SPECS, COMMON


class FieldReader:
    """Walks the parsed YAML, collecting problems and building the model."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.var_uses: list[tuple[str, int, str]] = []  # (field, line, text) to check ${var}s
        self.refs: list[tuple[str, int, str, str]] = []  # (field, line, ref, what)
        self.item_ids: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------
    def problem(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, field, message))

    def mapping(self, value: Any, line: int, field: str, allowed: set[str]) -> LineDict | None:
        if not isinstance(value, dict):
            self.problem(
                line,
                field,
                f"expected a mapping with keys {keys_text(allowed)}, got {kind_of(value)}",
            )
            return None
        assert isinstance(value, LineDict)
        for key, key_line in value.duplicate_keys:
            self.problem(key_line, f"{field}.{key}", "key given twice; keep one")
        for key in value:
            if key not in allowed:
                hint = close_match(key, allowed)
                self.problem(
                    value.line_of(key),
                    f"{field}.{key}",
                    f"unknown key{hint}; expected one of {keys_text(allowed)}",
                )
        return value

    def string(
        self, data: LineDict, key: str, field: str, *, required: bool = False, vars_ok: bool = True
    ) -> str:
        value = data.get(key)
        line = data.line_of(key)
        if value is None:
            if required:
                self.problem(line, f"{field}.{key}", "missing; expected text")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(line, f"{field}.{key}", f"expected text, got {kind_of(value)}")
            return ""
        text = str(value)
        if required and not text.strip():
            self.problem(line, f"{field}.{key}", "is empty; expected text")
        if vars_ok:
            self.var_uses.append((f"{field}.{key}", line, text))
        return text

    def optional_string(self, data: LineDict, key: str, field: str) -> str | None:
        return self.string(data, key, field) if data.get(key) is not None else None

    def boolean(self, data: LineDict, key: str, field: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.problem(
                data.line_of(key), f"{field}.{key}", f"expected true or false, got {kind_of(value)}"
            )
            return False
        return value

    def ident(self, data: LineDict, field: str) -> str:
        value = data.get("id")
        if value is None:
            self.problem(data.line, f"{field}.id", "missing; expected an id like 'db-backup'")
            return ""
        value = str(value)
        if not ID_PATTERN.match(value):
            self.problem(
                data.line_of("id"),
                f"{field}.id",
                f"'{value}' is not a valid id; expected lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit",
            )
        return value

    def sequence(self, data: LineDict, key: str, field: str) -> LineList:
        value = data.get(key)
        if value is None:
            empty = LineList()
            empty.line, empty.item_lines = data.line_of(key), []
            return empty
        if not isinstance(value, list):
            self.problem(
                data.line_of(key), f"{field}.{key}", f"expected a list, got {kind_of(value)}"
            )
            empty = LineList()
            empty.line, empty.item_lines = data.line_of(key), []
            return empty
        assert isinstance(value, LineList)
        return value

    def ref_list(self, data: LineDict, key: str, field: str, what: str) -> tuple[str, ...]:
        refs: list[str] = []
        seq = self.sequence(data, key, field)
        for index, ref in enumerate(seq):
            if not isinstance(ref, str):
                self.problem(
                    seq.line_of(index),
                    f"{field}.{key}[{index}]",
                    f"expected an item id, got {kind_of(ref)}",
                )
                continue
            refs.append(ref)
            self.refs.append((f"{field}.{key}", seq.line_of(index), ref, what))
        return tuple(refs)

    def params(
        self,
        data: LineDict,
        key: str,
        field: str,
        specs: Mapping[str, Any],
        common: Mapping[str, Any],
        kind: str,
    ) -> tuple[str, dict[str, Any], int] | None:
        value = data.get(key)
        line = data.line_of(key)
        if not isinstance(value, dict):
            self.problem(
                line,
                f"{field}.{key}",
                f"expected a mapping with a 'type' and its parameters, got {kind_of(value)}",
            )
            return None
        assert isinstance(value, LineDict)
        type_name = value.get("type")
        if not isinstance(type_name, str) or type_name not in specs:
            known = ", ".join(sorted(specs))
            got = f"'{type_name}'" if type_name is not None else "nothing"
            self.problem(
                value.line_of("type"),
                f"{field}.{key}.type",
                f"unknown {kind} type {got}; expected one of: {known}",
            )
            return None
        spec = {**common, **specs[type_name]}
        params = {k: v for k, v in value.items() if k != "type"}
        for name, param_value in params.items():
            pfield = f"{field}.{key}.{name}"
            if name not in spec:
                hint = close_match(name, set(spec))
                self.problem(
                    value.line_of(name),
                    pfield,
                    f"unknown parameter for {kind} '{type_name}'{hint}; expected one of "
                    f"{keys_text(set(spec))}",
                )
                continue
            accepted = spec[name].types
            ok = isinstance(param_value, accepted) and not (
                isinstance(param_value, bool) and bool not in accepted
            )
            if not ok:
                names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in accepted)
                self.problem(
                    value.line_of(name), pfield, f"expected {names}, got {kind_of(param_value)}"
                )
            self._collect_var_uses(param_value, pfield, value.line_of(name))
        for name, param in spec.items():
            if param.required and name not in params:
                self.problem(
                    value.line,
                    f"{field}.{key}.{name}",
                    f"missing; {kind} '{type_name}' needs '{name}'",
                )
        return type_name, params, line

    def _collect_var_uses(self, value: Any, field: str, line: int) -> None:
        if isinstance(value, str):
            self.var_uses.append((field, line, value))
        elif isinstance(value, dict):
            for k, v in value.items():
                self._collect_var_uses(v, f"{field}.{k}", line)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._collect_var_uses(v, f"{field}[{i}]", line)


_TYPE_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true/false",
    list: "a list",
    dict: "a mapping",
}


def label(raw: Any, index: int) -> str:
    """How a list element is named in error fields: its id when it has one, else its index."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return str(raw["id"])
    return str(index)


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"{type(value).__name__} {value!r}"


def keys_text(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def close_match(key: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
