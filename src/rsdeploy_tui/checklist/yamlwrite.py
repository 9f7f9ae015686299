"""Checklist data (plain dicts) as YAML a person would happily edit.

Block style, the checklist's own key order (``id``, ``title``/``text``, ``critical``, ``command``,
...), ``|`` literals for multi-line text, lists indented under their key, and a blank line between
top-level keys and between phases. Used by the Markdown importer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

_KEY_ORDER = [
    "name",
    "description",
    "vars",
    "secrets",
    "id",
    "title",
    "text",
    "subject",
    "critical",
    "command",
    "confirm",
    "interactive",
    "tick_on_success",
    "continue_on_error",
    "action",
    "check",
    "auto_tick",
    "requires",
    "rollback_trigger",
    "help",
    "gate",
    "body",
    "sections",
    "items",
    "phases",
    "templates",
    "rollback_triggers",
    "success_criteria",
]
_RANK = {key: index for index, key in enumerate(_KEY_ORDER)}


class _ChecklistDumper(yaml.SafeDumper):
    """Block style, checklist key order, ``|`` literals for multi-line text, indented lists."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        value = "\n".join(line.rstrip() for line in value.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_dict(dumper: yaml.SafeDumper, value: Mapping[str, Any]) -> yaml.MappingNode:
    keys = list(value)
    if all(key in _RANK for key in keys):  # a checklist node, not a user's vars/templates map
        keys.sort(key=_RANK.__getitem__)
    return dumper.represent_mapping("tag:yaml.org,2002:map", [(k, value[k]) for k in keys])


_ChecklistDumper.add_representer(str, _represent_str)
_ChecklistDumper.add_representer(dict, _represent_dict)


def _dump(value: Any) -> str:
    return yaml.dump(
        value,
        Dumper=_ChecklistDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
        indent=2,
    )


def to_yaml(data: Mapping[str, Any]) -> str:
    """Checklist data as YAML: block style, one blank line between top-level keys and phases."""
    parts: list[str] = []
    for key in sorted(data, key=lambda k: _RANK.get(k, len(_RANK))):
        value = data[key]
        if key == "phases" and isinstance(value, list) and value:
            phases = [
                "".join(
                    f"  {line}" if line.strip() else line
                    for line in _dump([phase]).splitlines(keepends=True)
                )
                for phase in value
            ]
            parts.append("phases:\n" + "\n".join(phases))
        else:
            parts.append(_dump({key: value}))
    return "\n".join(parts)
