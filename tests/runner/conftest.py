"""Fixtures for the runner tests: this process adopts orphans while a runner test runs."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

import pytest


def _set_subreaper(on: bool) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0)


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@pytest.fixture(autouse=True)
def subreaper() -> Iterator[None]:
    """Make this test process adopt orphans during each runner test, as a real init would.

    A detached run's wrapper is re-parented to the nearest subreaper when its launcher exits.
    In some containers pid 1 never reaps, which would leave zombies that are not ours to blame;
    adopting them lets the tests check for zombies strictly. Only runner tests: daemons started
    by other fixtures (PostgreSQL) must keep their usual parent.
    """
    _set_subreaper(True)
    yield
    _set_subreaper(False)
    _reap_children()
