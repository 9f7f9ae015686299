"""Fixtures for the values tests: the bundled checklist, a store in tmp, a folder as app_dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rsdeploy_tui import locations
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import Session, SessionStore

START = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def bundled() -> Checklist:
    """The bundled RS Systems checklist (its var names and items are the contract)."""
    return load_checklist(locations.bundled_checklist())


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """An empty folder as the Django checkout: commands run there, never in this repository
    (``git tag`` in the worktree would tag it)."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    return folder


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    """A store in tmp; no operator config file."""
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RSDEPLOY_CONFIG_DIR", str(tmp_path / "config"))
    return SessionStore(tmp_path / "state" / "sessions")


@pytest.fixture
def session(store: SessionStore, bundled: Checklist, app_dir: Path) -> Iterator[Session]:
    """A fresh session on the bundled checklist, app_dir given with --set at its start."""
    s = store.create(bundled, vars=resolve_vars(bundled, {"app_dir": str(app_dir)}, config={}),
                     operator="ana")
    yield s
    s.close()


@pytest.fixture
def reopen(store: SessionStore) -> Callable[[str], Session]:
    """The session as stored on disk, read-only."""
    def load(session_id: str) -> Session:
        return store.open(session_id, read_only=True)
    return load
