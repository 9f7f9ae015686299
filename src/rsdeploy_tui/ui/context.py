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
    """Every ``${name}``'s value for the session (``resolve``): what runs, checks and the
    screen expand with. Before ``resolve``, the launch's ``--set`` values."""
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

    resolution: Any = field(default=None, init=False, repr=False, compare=False)
    """The ``Resolution`` behind ``values`` (sources too); None before ``resolve``."""

    _redactor: Any = field(default=None, init=False, repr=False, compare=False)
    _masked_for: tuple[int, int] | None = field(default=None, init=False, repr=False,
                                                compare=False)
    _launch: Mapping[str, str] | None = field(default=None, init=False, repr=False,
                                              compare=False)
    _config: Any = field(default=None, init=False, repr=False, compare=False)
    _resolved_at: tuple[int, int, int] | None = field(default=None, init=False, repr=False,
                                                      compare=False)
    """(ids of the session and of its event list, the event count) at the last resolve."""

    def resolve(self, session: Any) -> None:
        """Re-read every value from the session (the runbook calls it after each event).

        The values given to ``make_app`` count as given when the session started; values set
        in the session and captured facts come over them (``checklist/vars.resolve_values``).
        Only ``value_set`` and ``fact`` events change them: after other events (a landing
        check result, a tick) nothing is re-read, which kept every result 5-10 ms longer on
        the event loop.
        """
        from rsdeploy_tui.checklist.vars import load_config_vars
        from rsdeploy_tui.values import VALUE_SET, session_values

        events = session.events
        last = self._resolved_at
        self._resolved_at = (id(session), id(events), len(events))
        if (last is not None and last[:2] == self._resolved_at[:2] and last[2] <= len(events)
                and not any(e.kind in (VALUE_SET, "fact") for e in events[last[2]:])):
            return

        if self._launch is None:
            self._launch = dict(self.values)
        if self._config is None:
            self._config = load_config_vars(self.checklist.name)
        self.resolution = session_values(self.checklist, session, start=self._launch,
                                         config=self._config)
        self.values = self.resolution.values
        redactor = getattr(session, "redactor", None)
        if redactor is not None and hasattr(redactor, "add_values"):
            from rsdeploy_tui.session.redact import secret_var_values

            # tokens and passwords in vars are masked wherever they show up (in memory only)
            redactor.add_values(secret_var_values(self.values))

    def missing(self, *texts: str) -> list[str]:
        """Names ``texts`` refer to that have no value now."""
        if self.resolution is None:
            return []
        return list(self.resolution.missing(*texts))

    def command_shown(self, item: Any, facts: Mapping[str, Any]) -> tuple[str | None, list[str]]:
        """What ``r`` runs for ``item``, as shown and recorded (secrets masked), and the names
        it still lacks (then ``r`` refuses, and the text shows ``‹name: not set›``)."""
        if item.command:
            from rsdeploy_tui.rollback import command_template, prefill

            step = prefill(item, self.values, facts, self.checklist.secrets)
            names = self.missing(command_template(item, facts, self.values))
            return (self.redact(step.command) if step.command else None), names
        if item.action is not None:
            from rsdeploy_tui.actions import action_display
            from rsdeploy_tui.values import param_strings

            texts = param_strings(item.action.params)
            names = self.missing(*texts)
            values = self.resolution.shown(names) if names and self.resolution else self.values
            shown = action_display(item, values, tuple(self.checklist.secrets))
            return self.redact(shown), names
        return None, []

    def display_marked(self, text: str) -> str:
        """Like ``display``, with a value that is not set shown as ``‹name: not set›``."""
        names = self.missing(text)
        if not names:
            return self.display(text)
        return self._masked(text, self.resolution.shown(names))

    def display(self, text: str) -> str:
        """``${vars}`` expanded for the screen, secret values and secret shapes masked.

        A var may hold a secret without being declared one (``--set dsn=postgres://u:pw@h``):
        the session's redaction runs over the expanded text, as it does before writing.
        """
        return self._masked(text, self.values)

    def _masked(self, text: str, values: Mapping[str, str]) -> str:
        from rsdeploy_tui.checklist.vars import expand

        shown = expand(text, values, secrets=self.checklist.secrets, mode="display")
        return self.redact(shown)

    def redact(self, text: str) -> str:
        """Secret values and secret shapes masked (the session's redaction rules)."""
        from rsdeploy_tui.session.redact import Redactor, secret_var_values

        if self._redactor is None:
            self._redactor = Redactor(self.checklist.secrets)
        # vars holding a token or a URL password are masked wherever they are expanded
        if self._masked_for != (id(self.values), len(self.values)):
            self._masked_for = (id(self.values), len(self.values))
            self._redactor.add_values(secret_var_values(self.values))
        return str(self._redactor.text(text))
