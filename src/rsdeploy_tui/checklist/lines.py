"""Parsed YAML that remembers where things were: ordinary ``dict``/``list`` subclasses that also
keep the line of each key / element (1-based), so every error can say where it is.

Apart from the YAML reader so that a loaded checklist (which keeps some of them, e.g. check
parameters) can be used, and cached, without importing PyYAML.
"""

from __future__ import annotations

from typing import Any


class LineDict(dict[str, Any]):
    """A YAML mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]
    duplicate_keys: list[tuple[str, int]]

    def line_of(self, key: str) -> int:
        """Line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence that knows its own line and the line of each element."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """Line of element ``index``."""
        return self.item_lines[index] if index < len(self.item_lines) else self.line
