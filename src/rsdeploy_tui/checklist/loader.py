"""Load a checklist YAML file into the frozen model, reporting every problem at once.

Each problem names the file, the line, the field and what was expected. Unknown keys are errors:
a typo such as ``chek:`` must never silently disable a check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rsdeploy_tui import locations
from rsdeploy_tui.checklist.fields import (
    CRITERION_KEYS,
    ENV_NAME,
    ID_PATTERN,
    ITEM_KEYS,
    PHASE_KEYS,
    SECTION_KEYS,
    TEMPLATE_KEYS,
    TOP_KEYS,
    ChecklistError,
    FieldReader,
    Problem,
    close_match,
    kind_of,
    known_specs,
    label,
)
from rsdeploy_tui.checklist.model import (
    PLAIN_SECTION,
    Action,
    Check,
    Checklist,
    Criterion,
    Item,
    Phase,
    Section,
    Template,
)
from rsdeploy_tui.checklist.vars import BUILTIN_VARS, MAX_VALUE_CHARS, references
from rsdeploy_tui.checklist.yamlread import LineDict, decode, parse_yaml, read_bytes


def load_checklist(path: Path | str | None = None) -> Checklist:
    """Load and validate a checklist file (None: the bundled RS Systems checklist).

    Raises:
        ChecklistError: the file is valid YAML but breaks the checklist format (every problem).
        RsdeployError: the file cannot be read or is not YAML.
    """
    path = Path(path) if path is not None else locations.bundled_checklist()
    return parse_checklist(read_bytes(path), path)


def parse_checklist(data: bytes, path: Path) -> Checklist:
    """Validate checklist YAML ``data`` as ``load_checklist`` does; errors name ``path``.

    The digest is of these very bytes (the file is read once).
    """
    raw = parse_yaml(decode(data, path), path)
    digest = hashlib.sha256(data).hexdigest()
    reader = FieldReader(path)
    checklist = _build(reader, raw, path, digest)
    if reader.problems or checklist is None:
        problems = sorted(reader.problems, key=lambda p: p.line)
        raise ChecklistError(path, problems or [Problem(str(path), 0, "-", "not a checklist")])
    return checklist


def _build(r: FieldReader, raw: Any, path: Path, digest: str) -> Checklist | None:
    if not isinstance(raw, dict):
        r.problem(
            1, "(top level)", f"expected a mapping with 'name' and 'phases', got {kind_of(raw)}"
        )
        return None
    top = r.mapping(raw, 1, "(top level)", TOP_KEYS)
    assert top is not None
    name = r.string(top, "name", "name", required=True)
    description = r.string(top, "description", "description")
    variables = _vars(r, top)
    secrets = _secrets(r, top)

    phases: list[Phase] = []
    phase_ids: dict[str, int] = {}
    phase_list = r.sequence(top, "phases", "phases")
    if "phases" not in top or not phase_list:
        r.problem(top.line_of("phases"), "phases", "expected a list of at least one phase")
    for index, raw_phase in enumerate(phase_list):
        phase = _phase(r, raw_phase, phase_list.line_of(index), index)
        if phase is None:
            continue
        if phase.id in phase_ids:
            r.problem(
                phase.line,
                f"phases[{phase.id}].id",
                f"duplicate phase id '{phase.id}' (first at line {phase_ids[phase.id]})",
            )
        phase_ids.setdefault(phase.id, phase.line)
        phases.append(phase)

    templates = _templates(r, top)
    triggers = _criteria(r, top, "rollback_triggers")
    criteria = _criteria(r, top, "success_criteria")

    checklist = Checklist(
        name=name,
        phases=tuple(phases),
        vars=MappingProxyType(variables),
        secrets=secrets,
        templates=MappingProxyType(templates),
        rollback_triggers=triggers,
        success_criteria=criteria,
        description=description,
        path=path,
        sha256=digest,
    )
    _check_references(r, checklist)
    _check_var_uses(r, variables)
    _check_var_sizes(r, variables)
    return checklist if r.problems else _qualify_refs(checklist)


def _qualify_refs(checklist: Checklist) -> Checklist:
    """Gates, requirements and criteria name items by qualified id from here on."""

    def qids(refs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(checklist.item(ref).qid for ref in refs)

    phases = tuple(
        replace(
            phase,
            gate=qids(phase.gate),
            sections=tuple(
                replace(
                    section,
                    items=tuple(
                        replace(item, requires=qids(item.requires)) for item in section.items
                    ),
                )
                for section in phase.sections
            ),
        )
        for phase in checklist.phases
    )
    return replace(
        checklist,
        phases=phases,
        rollback_triggers=tuple(
            replace(c, items=qids(c.items)) for c in checklist.rollback_triggers
        ),
        success_criteria=tuple(replace(c, items=qids(c.items)) for c in checklist.success_criteria),
    )


def _vars(r: FieldReader, top: LineDict) -> dict[str, str]:
    raw = top.get("vars")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        r.problem(
            top.line_of("vars"), "vars", f"expected a mapping of name: value, got {kind_of(raw)}"
        )
        return {}
    assert isinstance(raw, LineDict)
    result: dict[str, str] = {}
    for key, value in raw.items():
        line = raw.line_of(key)
        if not ENV_NAME.match(key):
            r.problem(
                line,
                f"vars.{key}",
                "not a valid variable name; expected letters, digits "
                "and '_', not starting with a digit",
            )
        if isinstance(value, dict | list):
            r.problem(line, f"vars.{key}", f"expected text, got {kind_of(value)}")
            continue
        text = (
            "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        )
        result[key] = text
        r.var_uses.append((f"vars.{key}", line, text))
    return result


def _secrets(r: FieldReader, top: LineDict) -> tuple[str, ...]:
    seq = r.sequence(top, "secrets", "secrets")
    names: list[str] = []
    for index, name in enumerate(seq):
        if not isinstance(name, str) or not ENV_NAME.match(name):
            r.problem(
                seq.line_of(index),
                f"secrets[{index}]",
                f"expected an environment variable name, got {kind_of(name)}",
            )
            continue
        names.append(name)
    return tuple(names)


def _phase(r: FieldReader, raw: Any, line: int, index: int) -> Phase | None:
    data = r.mapping(raw, line, f"phases[{label(raw, index)}]", PHASE_KEYS)
    if data is None:
        return None
    pid = r.ident(data, f"phases[{index}]")
    field = f"phases[{pid or index}]"
    title = r.string(data, "title", field, required=True)
    tab = _tab_title(r, data, field)
    help_text = r.string(data, "help", field)
    gate = r.ref_list(data, "gate", field, "gate")
    sections: list[Section] = []
    if "items" in data:
        # A phase without sections: its items form one untitled section (no heading shown).
        if "sections" in data:
            r.problem(data.line_of("items"), f"{field}.items",
                      "a phase has either 'sections' or 'items', not both")
        items = _items(r, data, pid, PLAIN_SECTION, field)
        sections.append(Section(id=PLAIN_SECTION, title="", items=tuple(items),
                                line=data.line_of("items")))
    section_ids: dict[str, int] = {}
    section_list = r.sequence(data, "sections", field)
    for s_index, raw_section in enumerate(section_list):
        section = _section(r, raw_section, section_list.line_of(s_index), pid, field, s_index)
        if section is None:
            continue
        if section.id in section_ids:
            r.problem(
                section.line,
                f"{field}.sections[{section.id}].id",
                f"duplicate section id '{section.id}' in phase '{pid}' "
                f"(first at line {section_ids[section.id]})",
            )
        section_ids.setdefault(section.id, section.line)
        sections.append(section)
    return Phase(
        id=pid, title=title, sections=tuple(sections), gate=gate, help=help_text, line=data.line,
        tab=tab,
    )


MAX_TAB_TITLE = 14
"""Longest short tab title: the bundled eight tabs, numbered and counted, fit in 100 columns."""


def _tab_title(r: FieldReader, data: Any, field: str) -> str:
    """A phase's short tab title: one line of plain text, at most ``MAX_TAB_TITLE`` long."""
    raw = data.get("tab")
    if raw is None:
        return ""
    tab = r.string(data, "tab", field, vars_ok=False)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        return ""  # string() said what was expected
    line = data.line_of("tab")
    if not tab.strip():
        r.problem(line, f"{field}.tab", "is empty; expected a short title (e.g. 'Verify')")
    elif "\n" in tab or tab != tab.strip():
        r.problem(line, f"{field}.tab", "expected one line of text without leading or "
                  f"trailing spaces, got {tab!r}")
    elif len(tab) > MAX_TAB_TITLE:
        r.problem(line, f"{field}.tab", f"is {len(tab)} characters long; expected a short "
                  f"title of at most {MAX_TAB_TITLE} (the full one is 'title')")
    return tab.strip()


def _section(
    r: FieldReader, raw: Any, line: int, phase_id: str, pfield: str, index: int
) -> Section | None:
    data = r.mapping(raw, line, f"{pfield}.sections[{label(raw, index)}]", SECTION_KEYS)
    if data is None:
        return None
    sid = r.ident(data, f"{pfield}.sections[{index}]")
    field = f"{pfield}.sections[{sid or index}]"
    title = r.string(data, "title", field, required=True)
    help_text = r.string(data, "help", field)
    items = _items(r, data, phase_id, sid, field)
    return Section(id=sid, title=title, items=tuple(items), help=help_text, line=data.line)


def _items(r: FieldReader, data: Any, phase_id: str, section_id: str, field: str) -> list[Item]:
    """The ``items:`` of a section (or of a phase without sections)."""
    items: list[Item] = []
    item_list = r.sequence(data, "items", field)
    for i_index, raw_item in enumerate(item_list):
        item = _item(r, raw_item, item_list.line_of(i_index), phase_id, section_id, field,
                     i_index)
        if item is not None:
            items.append(item)
    return items


def _item(
    r: FieldReader, raw: Any, line: int, phase_id: str, section_id: str, sfield: str, index: int
) -> Item | None:
    data = r.mapping(raw, line, f"{sfield}.items[{label(raw, index)}]", ITEM_KEYS)
    if data is None:
        return None
    iid = r.ident(data, f"{sfield}.items[{index}]")
    field = f"{sfield}.items[{iid or index}]"
    if iid in r.item_ids:
        r.problem(
            data.line,
            f"{field}.id",
            f"duplicate item id '{iid}' (first at line {r.item_ids[iid]}); item ids must be "
            "unique in the file",
        )
    r.item_ids.setdefault(iid, data.line)
    check_specs, action_specs, common = known_specs()
    check = action = None
    if "check" in data:
        parsed = r.params(data, "check", field, check_specs, common, "check")
        if parsed:
            check = Check(type=parsed[0], params=MappingProxyType(parsed[1]), line=parsed[2])
    if "action" in data:
        parsed = r.params(data, "action", field, action_specs, common, "action")
        if parsed:
            action = Action(type=parsed[0], params=MappingProxyType(parsed[1]), line=parsed[2])
    command = r.optional_string(data, "command", field)
    if command is not None and action is not None:
        r.problem(
            data.line_of("action"),
            f"{field}.action",
            "an item has either a 'command' or an 'action', not both",
        )
    confirm = r.optional_string(data, "confirm", field)
    if confirm is not None and command is None and "action" not in data:
        r.problem(
            data.line_of("confirm"),
            f"{field}.confirm",
            "'confirm' protects a command or action, but this item has neither",
        )
    trigger = r.optional_string(data, "rollback_trigger", field)
    if trigger is not None:
        r.refs.append(
            (f"{field}.rollback_trigger", data.line_of("rollback_trigger"), trigger, "trigger")
        )
    return Item(
        id=iid,
        phase_id=phase_id,
        section_id=section_id,
        text=r.string(data, "text", field, required=True),
        critical=r.boolean(data, "critical", field),
        help=r.string(data, "help", field),
        command=command,
        confirm=confirm,
        interactive=r.boolean(data, "interactive", field),
        tick_on_success=r.boolean(data, "tick_on_success", field),
        continue_on_error=r.boolean(data, "continue_on_error", field),
        check=check,
        auto_tick=r.boolean(data, "auto_tick", field),
        action=action,
        requires=r.ref_list(data, "requires", field, "requirement"),
        rollback_trigger=trigger,
        line=data.line,
    )


def _templates(r: FieldReader, top: LineDict) -> dict[str, Template]:
    raw = top.get("templates")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        r.problem(
            top.line_of("templates"),
            "templates",
            f"expected a mapping of template id -> {{title, subject, body}}, got {kind_of(raw)}",
        )
        return {}
    assert isinstance(raw, LineDict)
    result: dict[str, Template] = {}
    for tid, value in raw.items():
        field = f"templates.{tid}"
        if not ID_PATTERN.match(tid.replace("_", "-")):
            r.problem(raw.line_of(tid), field, "not a valid template id")
        data = r.mapping(value, raw.line_of(tid), field, TEMPLATE_KEYS)
        if data is None:
            continue
        result[tid] = Template(
            id=tid,
            title=r.string(data, "title", field) or tid.replace("_", " ").capitalize(),
            subject=r.string(data, "subject", field),
            body=r.string(data, "body", field, required=True),
            line=data.line,
        )
    return result


def _criteria(r: FieldReader, top: LineDict, key: str) -> tuple[Criterion, ...]:
    result: list[Criterion] = []
    seen: dict[str, int] = {}
    seq = r.sequence(top, key, key)
    for index, raw in enumerate(seq):
        data = r.mapping(raw, seq.line_of(index), f"{key}[{index}]", CRITERION_KEYS)
        if data is None:
            continue
        cid = r.ident(data, f"{key}[{index}]")
        field = f"{key}[{cid or index}]"
        if cid in seen:
            r.problem(data.line, f"{field}.id", f"duplicate id '{cid}' (first at line {seen[cid]})")
        seen.setdefault(cid, data.line)
        result.append(
            Criterion(
                id=cid,
                text=r.string(data, "text", field, required=True),
                items=r.ref_list(data, "items", field, "criterion item"),
                line=data.line,
            )
        )
    return tuple(result)


def _check_references(r: FieldReader, checklist: Checklist) -> None:
    trigger_ids = {t.id for t in checklist.rollback_triggers}
    lookup: Callable[[str], Item | None] = checklist.find_item
    for field, line, ref, what in r.refs:
        if what == "trigger":
            if ref not in trigger_ids:
                known = ", ".join(sorted(trigger_ids)) or "none defined"
                r.problem(
                    line, field, f"unknown rollback trigger '{ref}'; expected one of: {known}"
                )
        elif lookup(ref) is None:
            r.problem(
                line,
                field,
                f"{what} names unknown item '{ref}'; expected an item id "
                "('db-backup') or a qualified id ('pre.db-backup')",
            )


def _check_var_uses(r: FieldReader, variables: Mapping[str, str]) -> None:
    for field, line, text in r.var_uses:
        for kind, name in references(text):
            if kind == "bad":
                r.problem(
                    line,
                    field,
                    f"'${{{name}}}' is not a valid reference; expected "
                    "${name} or ${env:NAME} (write $${ for a literal ${)",
                )
            elif kind == "var" and name not in variables and name not in BUILTIN_VARS:
                hint = close_match(name, set(variables))
                r.problem(
                    line,
                    field,
                    f"undefined variable '${{{name}}}'{hint}; define it "
                    "under 'vars:' (or use ${env:NAME} for the environment)",
                )


def _check_var_sizes(r: FieldReader, variables: Mapping[str, str]) -> None:
    """Circular vars and strings that would expand beyond ``MAX_VALUE_CHARS``, located.

    Sizes are computed from lengths alone, so a ``${v26}${v26}`` doubling chain is measured,
    never built.
    """
    lines = {field[len("vars."):]: line for field, line, _ in r.var_uses
             if field.startswith("vars.")}
    sizes: dict[str, int] = {}
    circular: set[str] = set()

    def size(text: str, chain: tuple[str, ...]) -> int:
        total = len(text)
        for kind, name in references(text):
            if kind != "var" or name not in variables:
                continue
            total -= len(name) + 3  # the ${name} itself is replaced
            total += var_size(name, chain)
        return total

    def var_size(name: str, chain: tuple[str, ...]) -> int:
        if name in sizes:
            return sizes[name]
        if name in chain:
            cycle = (*chain[chain.index(name):], name)
            if cycle[0] not in circular:
                circular.update(cycle)
                r.problem(lines.get(cycle[0], 0), f"vars.{cycle[0]}",
                          "circular variable: the values refer to each other "
                          f"({' -> '.join(cycle)}); break the loop")
            return 0
        sizes[name] = value = min(size(variables[name], (*chain, name)), 1 << 62)
        return value

    for field, line, text in r.var_uses:
        name = field[len("vars."):] if field.startswith("vars.") else ""
        expanded = var_size(name, ()) if name in variables else size(text, ())
        if expanded > MAX_VALUE_CHARS:
            r.problem(line, field, f"expands to {expanded:,} characters, more than the "
                      f"{MAX_VALUE_CHARS:,} a checklist value may hold; a variable it uses "
                      "doubles at each step or is far too long")
