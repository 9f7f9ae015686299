"""``${var}`` expansion of check params at run time (``checklist.vars`` rules).

Checks run in-process, so params expand in ``value`` mode (``${env:NAME}`` becomes the value,
used in memory only), except shell command strings (``run``, ``command``), which expand in
``shell`` mode: an env reference stays a shell reference so a secret travels only in the child's
environment, never in its argv or the evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rsdeploy_tui.checklist.vars import Mode, references
from rsdeploy_tui.checklist.vars import expand_params as _expand

_SHELL_KEYS = frozenset({"run", "command"})


class VarError(Exception):
    """A ``${name}`` in a check param names no variable."""


def expand_params(params: Mapping[str, Any], values: Mapping[str, str],
                  environ: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of ``params`` with every string (also inside lists and mappings) expanded.

    Raises:
        VarError: a ``${name}`` that is not a variable (the loader normally catches these).
    """
    result: dict[str, Any] = {}
    for key, value in params.items():
        mode: Mode = "shell" if key in _SHELL_KEYS else "value"
        result[key] = _expand(value, values, secrets=tuple(secrets), environ=environ, mode=mode)
        _reject_leftovers(key, result[key])
    return result


def _reject_leftovers(key: str, value: Any) -> None:
    if isinstance(value, str):
        for kind, name in references(value):
            if kind in ("var", "bad"):
                raise VarError(f"unknown variable ${{{name}}} in {key}")
    elif isinstance(value, Mapping):
        for item in value.values():
            _reject_leftovers(key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_leftovers(key, item)
