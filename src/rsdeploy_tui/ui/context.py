"""What every part of the runbook screen shares: the checklist, the session, how to show text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.ui.glyphs import Glyphs

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist


def utc_now() -> datetime:
    """The real clock (tests inject a fixed one)."""
    return datetime.now(UTC)


@datarecord
class RunbookContext:
    """Collaborators of the runbook screen, injected by ``make_app`` (tests swap in fakes)."""

    checklist: Checklist
    """The checklist being worked through."""
    values: Mapping[str, str]
    """Resolved vars (the session's, so a resumed session shows what it started with)."""
    glyphs: Glyphs
    """Mark set (ASCII under a non-UTF-8 locale)."""
    clock: Callable[[], datetime] = utc_now
    """Returns now (UTC); the header's elapsed time comes from it."""
    lock_holder: str | None = None
    """Who holds the lock when the session was opened read-only because it is in use."""
    use_git: bool = True
    """Reports may run ``git log`` for the changes list (tests turn it off)."""
    services: dict[str, Any] = field(default_factory=dict)
    """Optional layers (``runner``, ``checks``, ``logs``) wired in when they exist."""

    _redactor: Any = field(default=None, init=False, repr=False, compare=False)
    _masked_for: tuple[int, int] | None = field(default=None, init=False, repr=False,
                                                compare=False)

    def display(self, text: str) -> str:
        """``${vars}`` expanded for the screen, secret values and secret shapes masked.

        A var may hold a secret without being declared one (``--set dsn=postgres://u:pw@h``):
        the session's redaction runs over the expanded text, as it does before writing.
        """
        from rsdeploy_tui.checklist.vars import expand

        from rsdeploy_tui.session.redact import Redactor, secret_var_values

        if self._redactor is None:
            self._redactor = Redactor(self.checklist.secrets)
        # vars holding a token or a URL password are masked wherever they are expanded
        if self._masked_for != (id(self.values), len(self.values)):
            self._masked_for = (id(self.values), len(self.values))
            self._redactor.add_values(secret_var_values(self.values))
        shown = expand(text, self.values, secrets=self.checklist.secrets, mode="display")
        return str(self._redactor.text(shown))
