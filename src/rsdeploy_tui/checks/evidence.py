"""Check evidence as lines of text for a person: the detail panel, ``check`` and the reports.

Evidence is JSON-shaped data (what a check observed). Shown raw it reads as Python reprs
(``operations: {'migration': …``, ``tail: Found 0 test(s)., …, , ----``); here every value
becomes words: scalars on one line, lists of lines one per line (blank ones dropped), lists of
records one record per line (``field: value; …``), mappings as indented ``key: value`` lines.
Textual-free: the UI renders these strings, it does not re-format them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VALUE_WIDTH = 120
"""Characters of one value shown before it is cut with ``…``."""
MAX_LIST_LINES = 20
"""Lines of one list shown (the last ones for output tails, the first ones otherwise)."""

# Lists that are output (the last lines matter most).
_TAIL_KEYS = frozenset({"tail", "plan", "output", "lines"})
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def _text(value: Any, width: int = VALUE_WIDTH) -> str:
    """One value on one line, control characters removed, cut with ``…`` past ``width``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:g}"
    else:
        text = " ".join(_CONTROL.sub("", str(value)).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _label(key: Any) -> str:
    return _text(key, 60)


def _record(value: Mapping[str, Any], width: int) -> str:
    """A record (one finding, one operation, one alarm) as ``field: value; field: value``."""
    parts = []
    for key, item in value.items():
        if isinstance(item, Mapping | list | tuple):
            item = ", ".join(_text(v, 40) for v in (item.values() if isinstance(item, Mapping)
                                                     else item))
        parts.append(f"{_label(key)}: {_text(item, 80)}")
    return _text("; ".join(parts), width)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def evidence_lines(evidence: Mapping[str, Any] | None, indent: str = "",
                   width: int = VALUE_WIDTH) -> list[str]:
    """Every key of ``evidence`` as readable lines (nested values indented by two spaces).

    Args:
        evidence: A check result's evidence (any JSON-shaped mapping; None gives no lines).
        indent: Prefix of every line (the detail panel indents under the verdict).
        width: Characters of one value before it is cut.
    """
    lines: list[str] = []
    if not isinstance(evidence, Mapping):
        return [f"{indent}{_text(evidence, width)}"] if evidence not in (None, "") else []
    inner = indent + "  "
    for key, value in evidence.items():
        label = _label(key)
        if _is_scalar(value):
            lines.append(f"{indent}{label}: {_text(value, width)}")
        elif isinstance(value, Mapping):
            if not value:
                lines.append(f"{indent}{label}: none")
                continue
            lines.append(f"{indent}{label}:")
            lines += evidence_lines(value, inner, width)
        elif isinstance(value, list | tuple):
            lines += _list_lines(label, list(value), indent, width, tail=key in _TAIL_KEYS)
        else:
            lines.append(f"{indent}{label}: {_text(value, width)}")
    return lines


def _list_lines(label: str, values: list[Any], indent: str, width: int, *,
                tail: bool) -> list[str]:
    inner = indent + "  "
    if not values:
        return [f"{indent}{label}: none"]
    if all(_is_scalar(v) for v in values):
        texts = [_text(v, width) for v in values]
        texts = [t for t in texts if t and t != "none"] if tail else texts
        joined = ", ".join(texts)
        # Names (tables, ids, keys) read well joined; sentences and lines one per line.
        if not tail and len(joined) <= width and not any(" " in t for t in texts):
            return [f"{indent}{label}: {joined or 'none'}"]
        shown, cut = _bounded(texts, tail)
        return [f"{indent}{label}:"] + cut + [f"{inner}{t}" for t in shown]
    rendered = [_record(v, 2 * width) if isinstance(v, Mapping) else _text(v, width)
                for v in values]
    shown, cut = _bounded(rendered, tail)
    return [f"{indent}{label}:"] + cut + [f"{inner}- {t}" for t in shown]


def _bounded(texts: list[str], tail: bool) -> tuple[list[str], list[str]]:
    """At most ``MAX_LIST_LINES`` of ``texts`` and, when some were left out, a line saying so."""
    if len(texts) <= MAX_LIST_LINES:
        return texts, []
    left = len(texts) - MAX_LIST_LINES
    if tail:
        return texts[-MAX_LIST_LINES:], [f"  ({left} earlier line(s) not shown)"]
    return [*texts[:MAX_LIST_LINES], f"({left} more not shown)"], []
