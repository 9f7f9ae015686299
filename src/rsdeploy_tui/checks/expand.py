"""``${var}`` expansion of check params at run time.

Same syntax as ``checklist.vars``: ``${name}`` is a resolved checklist variable, ``${env:NAME}``
the environment. Checks run in-process, so env references expand to their values here, except in
shell command strings (``run``, ``command``), where they stay shell references (``"${NAME}"``)
so a secret travels only in the child's environment, never in its argv or the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\{(env:)?([A-Za-z_][A-Za-z0-9_.-]*)\}")
_SHELL_KEYS = frozenset({"run", "command"})


class VarError(Exception):
    """A ``${name}`` in a check param names no variable."""


def expand(text: str, values: Mapping[str, Any], environ: Mapping[str, str],
           *, shell: bool = False) -> str:
    """``text`` with every ``${name}`` and ``${env:NAME}`` replaced.

    Raises:
        VarError: an unknown ``${name}``.
    """

    def sub(match: re.Match[str]) -> str:
        is_env, name = match.group(1), match.group(2)
        if is_env:
            return f'"${{{name}}}"' if shell else environ.get(name, "")
        if name not in values:
            raise VarError(f"unknown variable ${{{name}}} in check params")
        return str(values[name])

    # Resolved vars may still hold references (a value set with --set); expand a few levels.
    for _ in range(5):
        new = _REF.sub(sub, text)
        if new == text:
            break
        text = new
    return text


def expand_params(params: Mapping[str, Any], values: Mapping[str, Any],
                  environ: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``params`` with every string (also inside lists and mappings) expanded."""

    def walk(value: Any, shell: bool) -> Any:
        if isinstance(value, str):
            return expand(value, values, environ, shell=shell)
        if isinstance(value, Mapping):
            return {k: walk(v, False) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, False) for v in value]
        return value

    return {key: walk(value, key in _SHELL_KEYS) for key, value in params.items()}
