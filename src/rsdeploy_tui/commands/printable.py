"""Text printed by headless commands carries no terminal control bytes from what was recorded.

Command output, check evidence and notes can hold escape sequences (a colour, a cursor move, a
terminal title, a ``\\r`` that overwrites the line). Printed raw by ``check`` or ``show`` they
would act on the operator's terminal and could hide what is really there. They are printed as
visible ``\\u00XX`` escapes instead — also valid inside JSON strings, so ``--json`` stays JSON.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

_ESCAPED = {code: f"\\u{code:04x}" for code in (*range(0x00, 0x09), *range(0x0B, 0x20),
                                                 *range(0x7F, 0xA0))}
"""C0 controls but tab and newline, DEL and the C1 controls (0x9b is a CSI on some terminals)."""


def printable(text: str) -> str:
    """``text`` with every control character written as a visible ``\\u00XX`` escape."""
    return text.translate(_ESCAPED)


class _PrintableStream:
    """A text stream that writes ``printable`` text to another one."""

    def __init__(self, target: TextIO) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()


@contextlib.contextmanager
def printable_stdout() -> Iterator[None]:
    """Within the block, what is printed to stdout has its control characters escaped."""
    with contextlib.redirect_stdout(_PrintableStream(sys.stdout)):  # type: ignore[arg-type]
        yield
