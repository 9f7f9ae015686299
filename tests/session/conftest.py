"""Fixtures for the session tests: a small checklist and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from session_factory import make_checklist

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import SessionStore


@pytest.fixture
def checklist(tmp_path: Path) -> Checklist:
    return make_checklist(tmp_path / "checklist.yaml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    yield SessionStore(tmp_path / "state" / "sessions")
