"""Filling the reference document's ``[Placeholder]`` templates.

The templates are copied verbatim from the team's checklist: ``[Date/Time]``, ``Sprint X``,
``v1.X.X``, ``- [Feature 1]`` ... A placeholder we have no value for is left as written, so the
operator sees exactly what still needs typing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_BRACKET = re.compile(r"\[([^\[\]\n]{1,60})\]")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPRINT = re.compile(r"\bSprint X\b")
_VERSION = re.compile(r"\bv1\.X\.X\b")
_LIST_LINE = re.compile(r"^(\s*[-*]\s+)\[([^\]]+?)\s*\d*\]\s*$")


def key(name: str) -> str:
    """Placeholder name normalised: ``[Feature 1]`` -> ``feature``, ``[Date]`` -> ``date``."""
    return re.sub(r"\s*\d+$", "", name.strip().lower())


def sprint_text(sprint: str | None) -> str | None:
    """``12`` -> ``Sprint 12``; ``Sprint 12`` stays as it is."""
    if not sprint:
        return None
    return sprint if sprint.lower().startswith("sprint") else f"Sprint {sprint}"


def expand_vars(text: str, values: Mapping[str, str]) -> str:
    """``${name}`` replaced by resolved vars; ``${env:...}`` and unknown names left alone."""
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def fill(
    text: str,
    values: Mapping[str, str | None],
    lists: Mapping[str, Sequence[str]] | None = None,
    *,
    sprint: str | None = None,
    version: str | None = None,
    vars: Mapping[str, str] | None = None,
) -> str:
    """Fill a template.

    Args:
        text: Template body or subject.
        values: Placeholder key (see ``key``) -> text; None or absent leaves it as written.
        lists: Placeholder key -> lines; a run of list lines ``- [Feature 1]``, ``- [Feature 2]``
            with that key becomes one ``- line`` per entry (left as written when empty).
        sprint: Replaces ``Sprint X``.
        version: Replaces ``v1.X.X``.
        vars: Resolved checklist vars for ``${name}``.
    """
    lists = lists or {}
    out: list[str] = []
    replaced_run: str | None = None
    for line in text.splitlines():
        match = _LIST_LINE.match(line)
        name = key(match.group(2)) if match else ""
        if match and name in lists and lists[name]:
            if replaced_run == name:
                continue  # the rest of the run is replaced already
            replaced_run = name
            out.extend(f"{match.group(1)}{entry}" for entry in lists[name])
            continue
        replaced_run = None
        out.append(_fill_line(line, values))
    filled = "\n".join(out)
    if text.endswith("\n"):
        filled += "\n"
    label = sprint_text(sprint)
    if label:
        filled = _SPRINT.sub(label, filled)
    if version:
        filled = _VERSION.sub(version, filled)
    return expand_vars(filled, vars or {})


def _fill_line(line: str, values: Mapping[str, str | None]) -> str:
    def replace(match: re.Match[str]) -> str:
        value = values.get(key(match.group(1)))
        return match.group(0) if value is None else value

    return _BRACKET.sub(replace, line)
