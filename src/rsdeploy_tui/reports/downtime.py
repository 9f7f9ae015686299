"""Downtime: when maintenance mode was on, from facts or from the commands that switched it.

Sources, merged in time order:
- ``fact`` events named ``maintenance_on`` / ``maintenance_off`` (the value when it is a time,
  else the event's time);
- successful runs (exit code 0) of commands that set ``MAINTENANCE_MODE`` in any usual form:
  ``eb setenv MAINTENANCE_MODE=true -e env``, quoted values, ``MAINTENANCE_MODE=`` (unset: off),
  ``aws elasticbeanstalk update-environment --option-settings
  Namespace=...,OptionName=MAINTENANCE_MODE,Value=true`` or its JSON form. Shell comments are
  ignored (the bundled commands start with one that names the step); when one command sets the
  mode more than once, the last setting wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.reports.timefmt import parse_time, show_time

_ON = frozenset({"true", "1", "on", "yes", "enabled", "enable"})
_OFF = frozenset({"false", "0", "off", "no", "disabled", "disable", ""})

_VALUE = r"""(?P<q>['"]?)(?P<value>[A-Za-z0-9]*)(?P=q)"""
_SETTINGS = (
    # MAINTENANCE_MODE=true, "MAINTENANCE_MODE": "true", MAINTENANCE_MODE= (unset)
    re.compile(r"""\bMAINTENANCE_MODE\b['"]?\s*[=:]\s*""" + _VALUE + r"""(?=$|[\s,;&|)}'"])""",
               re.MULTILINE),
    # OptionName=MAINTENANCE_MODE,Value=true and {"OptionName": "MAINTENANCE_MODE", "Value": ..}
    re.compile(r"""\bOptionName['"]?\s*[=:]\s*['"]?MAINTENANCE_MODE\b[^\n{}]*?\bValue['"]?\s*"""
               r"""[=:]\s*""" + _VALUE),
    # Value=true,OptionName=MAINTENANCE_MODE (options in the other order)
    re.compile(r"""\bValue['"]?\s*[=:]\s*""" + _VALUE +
               r"""[^\n{}]*?\bOptionName['"]?\s*[=:]\s*['"]?MAINTENANCE_MODE\b"""),
)
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.MULTILINE)


def maintenance_setting(command: str) -> bool | None:
    """What ``command`` leaves maintenance mode at: True (on), False (off) or None (untouched).

    >>> maintenance_setting("# Stop accepting requests\\neb setenv MAINTENANCE_MODE=true -e prod")
    True
    """
    text = _COMMENT.sub("", command)
    found: list[tuple[int, str]] = []
    for pattern in _SETTINGS:
        found += [(m.start(), m.group("value").lower()) for m in pattern.finditer(text)]
    for _, value in sorted(found, reverse=True):
        if value in _ON:
            return True
        if value in _OFF:
            return False
    return None


def _whole_minutes(start: datetime, end: datetime) -> int:
    """Minutes between two times as the log shows them (to the minute), at least 1 when any
    time passed: ``21:28 - 21:39`` reads 11 minutes whatever the seconds were."""
    if end <= start:
        return 0
    first = start.astimezone(UTC).replace(second=0, microsecond=0)
    last = end.astimezone(UTC).replace(second=0, microsecond=0)
    return max(1, int((last - first).total_seconds() // 60))


def _minutes_text(minutes: int) -> str:
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def _span(on: datetime, off: datetime) -> str:
    return f"{show_time(on, with_date=False)} - {show_time(off, with_date=False)}"


@datarecord(frozen=True)
class Downtime:
    """Maintenance mode as recorded: one or more windows, the last possibly still open."""

    windows: tuple[tuple[datetime, datetime | None], ...] = ()
    """(switched on, switched off or None) in time order."""

    @property
    def on(self) -> datetime | None:
        """When maintenance mode first went on."""
        return self.windows[0][0] if self.windows else None

    @property
    def off(self) -> datetime | None:
        """When it last went off (None while it is still on)."""
        return self.windows[-1][1] if self.windows else None

    @property
    def minutes(self) -> int | None:
        """Minutes in maintenance mode, when every window is closed."""
        if not self.windows or any(off is None for _, off in self.windows):
            return None
        return sum(_whole_minutes(on, off) for on, off in self.windows if off is not None)

    def describe(self, now: datetime, ended: datetime | None = None) -> str:
        """One line for the log. ``ended``: when the session was closed (then nothing is
        "so far"); ``now`` is only used for a session still in progress."""
        if not self.windows:
            return "None recorded (maintenance mode not used)"
        closed = [(on, off) for on, off in self.windows if off is not None]
        spans = ", ".join(_span(on, off) for on, off in closed)
        last_on, last_off = self.windows[-1]
        if last_off is None:
            before = sum(_whole_minutes(a, b) for a, b in closed)
            earlier = f"; before that {_minutes_text(before)} ({spans})" if closed else ""
            if ended is not None:
                return (f"Maintenance mode switched on at {show_time(last_on)}; switching it "
                        f"off was not recorded{earlier}")
            return (f"Maintenance mode on since {show_time(last_on)} "
                    f"({_minutes_text(_whole_minutes(last_on, now))} so far, not switched off)"
                    f"{earlier}")
        total = _minutes_text(self.minutes or 0)
        if len(closed) == 1:
            return f"{total} ({spans}, maintenance mode)"
        return f"{total} in {len(closed)} maintenance windows ({spans})"


def _fact_moment(event: Any) -> datetime | None:
    value = event.data.get("value")
    return parse_time(value) if isinstance(value, str) else None


def maintenance_windows(events: Sequence[Any]) -> Downtime:
    """The maintenance windows a session's events record (see the module docstring)."""
    switches: list[tuple[datetime, int, bool]] = []
    started: dict[str, str] = {}
    for seq, event in enumerate(events):
        moment = parse_time(event.at)
        if event.kind == "fact" and event.data.get("name") in ("maintenance_on",
                                                              "maintenance_off"):
            when = _fact_moment(event) or moment
            if when is not None:
                switches.append((when, seq, event.data.get("name") == "maintenance_on"))
        elif event.kind == "command_started":
            started[str(event.data.get("run"))] = str(event.data.get("command", ""))
        elif event.kind == "command_finished" and event.data.get("exit_code") == 0:
            setting = maintenance_setting(started.get(str(event.data.get("run")), ""))
            if setting is not None and moment is not None:
                switches.append((moment, seq, setting))
    windows: list[tuple[datetime, datetime | None]] = []
    for when, _, switched_on in sorted(switches):
        is_open = bool(windows) and windows[-1][1] is None
        if switched_on and not is_open:
            windows.append((when, None))
        elif not switched_on and is_open:
            windows[-1] = (windows[-1][0], when)
    return Downtime(tuple(windows))
