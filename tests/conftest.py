"""Suite-wide pytest configuration: shared fixtures live in tests/support (see its README)."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "support.postgres",
    "support.aws",
    "support.eb_stub",
    "support.django_app",
    "fake_eb.fixtures",
]


@pytest.fixture(autouse=True)
def _snapshots_ignore_the_machine(request: pytest.FixtureRequest,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshot tests draw the same on every machine: Textual drops all colour under NO_COLOR
    (set by some CI runners and shells), so it is removed for tests that take snapshots."""
    if "snap_compare" in request.fixturenames:
        monkeypatch.delenv("NO_COLOR", raising=False)
