"""Full garbage-collection passes wait for a pause in the keys (#15, ui/collector.py)."""

from __future__ import annotations

import gc
import time
from typing import Any

import pytest

from rsdeploy_tui.ui.collector import IDLE_S, NEVER, OVERDUE, IdleCollector


class _Timers:
    """What ``start`` needs of an app: a place to put its timer (ticked by hand here)."""

    def set_interval(self, *_args: Any, **_kwargs: Any) -> None:
        pass


@pytest.fixture
def collector() -> Any:
    before = gc.get_threshold()
    was_enabled = gc.isenabled()
    collector = IdleCollector()
    collector.start(_Timers())
    yield collector
    gc.set_threshold(*before)
    gc.unfreeze()
    if not was_enabled:
        gc.disable()


def _owe(passes: int) -> None:
    """Make Python owe full passes: each middle-generation pass adds one."""
    while gc.get_count()[2] < passes:
        gc.collect(1)


def test_python_never_starts_a_full_pass_itself(collector: IdleCollector) -> None:
    assert gc.isenabled() and gc.get_threshold()[2] == NEVER


def test_an_owed_pass_waits_while_keys_come_and_runs_in_the_pause(
        collector: IdleCollector) -> None:
    _owe(10)
    collector.key()
    collector.tick()
    assert collector.passes == 0 and gc.get_count()[2] >= 10  # a key just came: not now
    collector.last_key = time.monotonic() - IDLE_S
    collector.tick()
    assert collector.passes == 1 and gc.get_count()[2] == 0


def test_endless_typing_still_gets_its_pass_once_overdue(collector: IdleCollector) -> None:
    _owe(OVERDUE)
    collector.key()
    collector.tick()
    assert collector.passes == 1 and gc.get_count()[2] == 0
