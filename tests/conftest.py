"""Suite-wide pytest configuration: shared fixtures live in tests/support (see its README)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "support.postgres",
    "support.aws",
    "support.eb_stub",
    "support.real_eb",
    "support.django_app",
    "support.django_real",
    "fake_eb.fixtures",
]


@pytest.fixture(autouse=True)
def _snapshots_ignore_the_machine(request: pytest.FixtureRequest,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshot tests draw the same on every machine: Textual drops all colour under NO_COLOR
    (set by some CI runners and shells), so it is removed for tests that take snapshots."""
    if "snap_compare" in request.fixturenames:
        monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The parsed-checklist cache of every test (and the processes it starts) stays under the
    test run's temp dir, never in the operator's home."""
    before = os.environ.get("RSDEPLOY_CACHE_DIR")
    os.environ["RSDEPLOY_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("RSDEPLOY_CACHE_DIR", None)
    else:
        os.environ["RSDEPLOY_CACHE_DIR"] = before
