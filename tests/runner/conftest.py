"""Fixtures for the runner tests: a subreaper test process and the fake ``eb`` on PATH."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_EB_DIR = REPO / "tests" / "fake_eb"


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@pytest.fixture(scope="session", autouse=True)
def subreaper() -> Iterator[None]:
    """Make this test process adopt orphans, as a real init would.

    A detached run's wrapper is re-parented to the nearest subreaper when the launcher exits.
    In some containers pid 1 never reaps, which would leave zombies that are not ours to blame;
    adopting them here lets the tests check for zombies strictly.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    yield
    _reap_children()


@pytest.fixture
def reap() -> Iterator[None]:
    """Reap adopted children at the end of a test."""
    yield
    _reap_children()


@pytest.fixture
def fake_eb(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put tests/fake_eb first on PATH; returns the path of the fake ``eb``."""
    monkeypatch.setenv("PATH", f"{FAKE_EB_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    return FAKE_EB_DIR / "eb"
