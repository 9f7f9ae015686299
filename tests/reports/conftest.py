"""Fixtures for the report tests: a secret canary in the environment, sessions in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reports_factory import (
    CANARY,
    Built,
    finished_session,
    half_done_session,
    rolled_back_session,
)

from rsdeploy_tui.session import Session


@pytest.fixture(autouse=True)
def canary_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """DB_PASSWORD holds the canary for every report test (redaction must hide it)."""
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    return CANARY


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A plain folder (no git repository): the changes list comes from the operator."""
    folder = tmp_path / "app"
    folder.mkdir()
    return folder


@pytest.fixture
def closing() -> Iterator[list[Session]]:
    """Sessions to close at the end of a test (releases their locks)."""
    opened: list[Session] = []
    yield opened
    for session in opened:
        session.close()


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The three recorded sessions, built once (each takes a second or two of fsyncs).

    Tests must only read them: open another session to record anything.
    """
    root = tmp_path_factory.mktemp("report-scenarios")
    app = root / "app"
    app.mkdir()
    built: Built = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DB_PASSWORD", CANARY)
        for name, build in (("finished", finished_session), ("half_done", half_done_session),
                            ("rolled_back", rolled_back_session)):
            built[name] = build(root / name, app)
    yield built
    for session, _ in built.values():
        session.close()
