"""One place where report text meets the session's redactor before it leaves the process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

MASK = "****"
_MIN_LENGTH = 4


class Scrubber:
    """Applies the session's redactor, then masks the checklist's secret env values again.

    The second pass is cheap and keeps a report safe even for text the session never saw (git
    log output, a message typed in the Communication tab).
    """

    def __init__(self, redactor: Any, secret_names: tuple[str, ...],
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._redactor = redactor
        values = sorted({env[n] for n in secret_names if len(env.get(n, "")) >= _MIN_LENGTH},
                        key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, values))) if values else None

    def text(self, text: str) -> str:
        """``text`` with secrets replaced by ``****``."""
        if not text:
            return text
        if self._redactor is not None:
            text = self._redactor.text(text)
        if self._values is not None:
            text = self._values.sub(MASK, text)
        return text

    def value(self, value: Any) -> Any:
        """A copy of nested dicts/lists with every string passed through ``text``."""
        if self._redactor is not None:
            value = self._redactor.value(value)
        return self._again(value)

    def _again(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._values.sub(MASK, value) if self._values is not None else value
        if isinstance(value, Mapping):
            return {key: self._again(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._again(item) for item in value]
        return value


def scrubber(session: Any, checklist: Checklist) -> Scrubber:
    """The scrubber for a session (its ``redactor``) and checklist (its ``secrets``)."""
    redactor = getattr(session, "redactor", None) if session is not None else None
    names = ("DB_PASSWORD", "SECRET_KEY", "ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY",
             *checklist.secrets)
    return Scrubber(redactor, tuple(dict.fromkeys(names)))
