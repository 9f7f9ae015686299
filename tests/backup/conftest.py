"""The ``deployment`` fixture: a session on the bundled checklist, a seeded database, a bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_harness import BUCKET, Deployment

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import SessionStore


@pytest.fixture
def deployment(tmp_path: Path, pg_db: Any, aws_env: Any,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """A fresh session, a seeded database, a bucket in moto."""
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RSDEPLOY_PG_BINDIR", str(pg_db.bindir))
    aws_env.create_bucket(BUCKET)
    checklist = load_checklist()
    media = tmp_path / "media"
    values = resolve_vars(
        checklist,
        {"backup_bucket": BUCKET, "version": "v2.0.0", "media_source": str(media)},
        config={},
    )
    store = SessionStore(root=tmp_path / "state" / "sessions")
    session = store.create(checklist, vars=values, operator="tester")
    env = pg_db.env()
    # The actions read DB_* from their environment; the app holds them in its own.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        yield Deployment(checklist, session, values, env)
    finally:
        session.close()
