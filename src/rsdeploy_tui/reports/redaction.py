"""One place where report text meets the session's redactor before it leaves the process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.session.redact import MASK, Redactor, strip_controls

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

__all__ = ["MASK", "Scrubber", "scrubber"]


class Scrubber:
    """Applies the session's redactor, then a redactor of the checklist's secret env values.

    The second pass keeps a report safe even for text the session never saw (git log output, a
    message typed in the Communication tab) and with a session-less redactor; both mask every
    form of a value (through escape sequences, encoded) and secret-shaped text.
    """

    def __init__(self, redactor: Any, secret_names: tuple[str, ...],
                 environ: Mapping[str, str] | None = None,
                 values: Mapping[str, str] | None = None) -> None:
        from rsdeploy_tui.session.redact import secret_var_values

        self._redactor = redactor
        self._again = Redactor(secret_names, environ=environ)
        if values:
            self._again.add_values(secret_var_values(values))

    def text(self, text: str) -> str:
        """``text`` with secrets replaced by ``****`` and no terminal control sequences (a
        report printed to a terminal, or a message pasted into chat, must not drive it)."""
        if not text:
            return text
        if self._redactor is not None:
            text = self._redactor.text(text)
        return strip_controls(self._again.text(text))

    def value(self, value: Any) -> Any:
        """A copy of nested dicts/lists with every string redacted, without control sequences."""
        if self._redactor is not None:
            value = self._redactor.value(value)
        return _without_controls(self._again.value(value))


def _without_controls(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {key: _without_controls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    return value


def scrubber(session: Any, checklist: Checklist,
             values: Mapping[str, str] | None = None) -> Scrubber:
    """The scrubber for a session (its ``redactor``) and checklist (its ``secrets``); ``values``:
    the vars in use, whose secret-looking ones (tokens, URL passwords) are masked too."""
    redactor = getattr(session, "redactor", None) if session is not None else None
    return Scrubber(redactor, tuple(checklist.secrets), values=values)
