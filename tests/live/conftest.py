"""Fixtures for the live-output tests: a store in tmp, the fake eb on PATH, an offline banner."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.runner import EnvStatus
from rsdeploy_tui.session import Session, SessionState, SessionStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
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
    """Adopt orphaned run wrappers (as init would), so leftover processes are ours to see."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    yield
    _reap_children()


@pytest.fixture
def fake_eb(monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/fake_eb first on PATH."""
    monkeypatch.setenv("PATH", f"{FAKE_EB_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    return FAKE_EB_DIR / "eb"


@pytest.fixture
def live() -> Checklist:
    """tests/live/live.yaml."""
    return load_checklist(HERE / "live.yaml")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    """A store under RSDEPLOY_STATE_DIR in tmp; commands run in tmp too."""
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RSDEPLOY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return SessionStore(tmp_path / "state" / "sessions")


@pytest.fixture
def session(store: SessionStore, live: Checklist) -> Iterator[Session]:
    """A fresh session on live.yaml, operated by ana."""
    s = store.create(live, vars=resolve_vars(live, {}, config={}), operator="ana")
    yield s
    s.close()


@pytest.fixture
def stored(store: SessionStore, live: Checklist) -> Callable[[str], SessionState]:
    """Reload a session's state from disk, read-only: what is really durable."""

    def load(session_id: str) -> SessionState:
        return store.open(session_id, read_only=True).state(live)

    return load


def ready_status(env_name: str, vars: Any) -> EnvStatus:
    """A canned banner answer (tests that are not about the banner never ask AWS)."""
    return EnvStatus(env_name, status="Ready", health="Green", version_label="v41")


@pytest.fixture
def services() -> dict[str, Any]:
    """Services for make_app: canned banner, short cancel grace."""
    return {"env_status": ready_status, "banner_interval": None, "cancel_grace": 1.0}
