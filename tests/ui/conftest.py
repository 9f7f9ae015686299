"""Fixtures for the Pilot and snapshot tests: a small checklist, a store in tmp, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import Session, SessionState, SessionStore

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
SESSION_ID = "20261126T020000Z-test"


class FixedClock:
    """Now is always 12 min 34 s after the session started (elapsed shows 0:12:34)."""

    def __init__(self, now: datetime = START + timedelta(minutes=12, seconds=34)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def mini() -> Checklist:
    """The three-phase test checklist (tests/ui/mini.yaml)."""
    return load_checklist(HERE / "mini.yaml")


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """RSDEPLOY_STATE_DIR in tmp, config dir empty (no operator config leaks in)."""
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RSDEPLOY_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    """A store with a fixed clock and a fixed id for the first session created."""
    import socket

    import rsdeploy_tui.session.store as store_module

    # The host name shows in the resume modal: the same on every machine.
    monkeypatch.setattr(socket, "gethostname", lambda: "bastion-1")

    ids = iter([SESSION_ID, *(f"20261126T020000Z-t{n:03d}" for n in range(1, 100))])
    monkeypatch.setattr(store_module, "new_session_id", lambda moment: next(ids))
    return SessionStore(state_dir / "sessions", clock=lambda: START)


@pytest.fixture
def session(store: SessionStore, mini: Checklist) -> Iterator[Session]:
    """A fresh session on the mini checklist, operated by ana."""
    s = store.create(mini, vars=resolve_vars(mini, {}, config={}), operator="ana")
    yield s
    s.close()


@pytest.fixture
def stored(store: SessionStore, mini: Checklist) -> Callable[[str], SessionState]:
    """Reload a session's state from disk, read-only: what is really durable."""

    def load(session_id: str) -> SessionState:
        return store.open(session_id, read_only=True).state(mini)

    return load


@pytest.fixture
def clock() -> FixedClock:
    """The fixed clock injected into the app."""
    return FixedClock()
