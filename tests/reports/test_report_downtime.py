"""Downtime from maintenance-mode facts and from the commands that switch it, in any form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rsdeploy_tui.reports.downtime import maintenance_setting, maintenance_windows
from rsdeploy_tui.session.events import Event, iso

T0 = datetime(2026, 11, 20, 21, 0, 40, tzinfo=UTC)


@pytest.mark.parametrize(("command", "expected"), [
    ("# Stop accepting new requests (if applicable)\n"
     "eb setenv MAINTENANCE_MODE=true -e rs-systems-prod", True),
    ("eb setenv MAINTENANCE_MODE=false -e rs-systems-prod", False),
    ('eb setenv MAINTENANCE_MODE="True"', True),
    ("eb setenv DEBUG=False MAINTENANCE_MODE='off'", False),
    ("eb setenv MAINTENANCE_MODE= -e prod", False),  # an empty value removes the variable
    ("eb setenv MAINTENANCE_MODE=1", True),
    ("aws elasticbeanstalk update-environment --environment-name prod --option-settings "
     "Namespace=aws:elasticbeanstalk:application:environment,OptionName=MAINTENANCE_MODE,"
     "Value=true", True),
    ("aws elasticbeanstalk update-environment --option-settings '[{\"Namespace\": "
     "\"aws:elasticbeanstalk:application:environment\", \"OptionName\": \"MAINTENANCE_MODE\", "
     "\"Value\": \"false\"}]'", False),
    ("aws elasticbeanstalk update-environment --option-settings "
     "Namespace=aws:elasticbeanstalk:application:environment,Value=on,"
     "OptionName=MAINTENANCE_MODE", True),
    # comments do not count, whatever they say
    ("# later: eb setenv MAINTENANCE_MODE=false\neb setenv MAINTENANCE_MODE=true", True),
    ("eb setenv MAINTENANCE_MODE=true  # off again with MAINTENANCE_MODE=false", True),
    # the last setting in one command wins
    ("eb setenv MAINTENANCE_MODE=true && eb deploy prod && eb setenv MAINTENANCE_MODE=false",
     False),
    # not a setting
    ("eb setenv MAINTENANCE_MODE=${mode}", None),
    ("eb deploy rs-systems-prod", None),
    ("echo MAINTENANCE_MODE_BANNER=true", None),
    ("curl https://example.test/health # MAINTENANCE_MODE=true", None),
])
def test_maintenance_setting_of_a_command(command: str, expected: bool | None) -> None:
    assert maintenance_setting(command) is expected


class Journal:
    """Events as the session records them, 30 seconds apart unless told otherwise."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.now = T0

    def add(self, kind: str, item: str | None = None, after: timedelta = timedelta(seconds=30),
            **data: Any) -> None:
        self.now += after
        self.events.append(Event(len(self.events) + 1, kind, iso(self.now), "ana", "host", item,
                                 data))

    def run(self, command: str, exit_code: int, run: str,
            after: timedelta = timedelta(seconds=30)) -> None:
        self.add("command_started", "rollback.x", after=after, run=run, command=command)
        self.add("command_finished", "rollback.x", run=run, exit_code=exit_code)


def test_windows_from_commands_ignore_failed_runs_and_add_up() -> None:
    journal = Journal()
    journal.run("eb setenv MAINTENANCE_MODE=true -e prod", 0, "r1")
    journal.run("eb setenv MAINTENANCE_MODE=false -e prod", 4, "r2", after=timedelta(minutes=3))
    journal.run("eb setenv MAINTENANCE_MODE=false -e prod", 0, "r3", after=timedelta(minutes=1))
    journal.run("eb setenv MAINTENANCE_MODE=true -e prod", 0, "r4", after=timedelta(minutes=20))
    journal.run("eb setenv MAINTENANCE_MODE=false -e prod", 0, "r5", after=timedelta(minutes=2))
    downtime = maintenance_windows(journal.events)
    assert len(downtime.windows) == 2
    # 21:01:40 - 21:06:40 and 21:27:10 - 21:29:40 (the failed switch-off at 21:05 not counted)
    assert downtime.describe(journal.now, journal.now) == (
        "7 minutes in 2 maintenance windows (21:01 UTC - 21:06 UTC, 21:27 UTC - 21:29 UTC)")
    assert downtime.minutes == 7


def test_minutes_match_the_times_shown() -> None:
    journal = Journal()
    journal.add("fact", name="maintenance_on", value=True)  # 21:01:10
    journal.add("fact", name="maintenance_off", value=True, after=timedelta(minutes=10, seconds=40))
    downtime = maintenance_windows(journal.events)
    assert downtime.describe(journal.now) == "10 minutes (21:01 UTC - 21:11 UTC, maintenance mode)"


def test_facts_and_commands_together_and_a_time_given_as_the_fact_value() -> None:
    journal = Journal()
    journal.add("fact", name="maintenance_on", value="2026-11-20T20:55:00Z")
    journal.run("eb setenv MAINTENANCE_MODE=false", 0, "r1")
    downtime = maintenance_windows(journal.events)
    assert downtime.describe(journal.now) == "7 minutes (20:55 UTC - 21:02 UTC, maintenance mode)"


def test_still_on_reads_so_far_while_active_and_not_recorded_once_closed() -> None:
    journal = Journal()
    journal.run("# Stop accepting new requests\neb setenv MAINTENANCE_MODE=true -e prod", 0, "r1")
    downtime = maintenance_windows(journal.events)
    assert downtime.minutes is None
    later = journal.now + timedelta(minutes=12)
    assert downtime.describe(later) == (
        "Maintenance mode on since 2026-11-20 21:01 UTC (12 minutes so far, not switched off)")
    # a finished session: the report must not grow with the clock
    assert downtime.describe(later, ended=journal.now) == downtime.describe(
        later + timedelta(hours=5), ended=journal.now) == (
        "Maintenance mode switched on at 2026-11-20 21:01 UTC; switching it off was not recorded")


def test_no_maintenance_and_off_without_on() -> None:
    journal = Journal()
    journal.run("eb setenv MAINTENANCE_MODE=false", 0, "r1")
    journal.run("eb deploy prod", 0, "r2")
    downtime = maintenance_windows(journal.events)
    assert downtime.windows == ()
    assert downtime.describe(journal.now) == "None recorded (maintenance mode not used)"
