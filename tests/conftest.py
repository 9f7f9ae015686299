"""Suite-wide pytest configuration: shared fixtures live in tests/support (see its README)."""

from __future__ import annotations

pytest_plugins = [
    "support.postgres",
    "support.aws",
    "support.eb_stub",
    "support.django_app",
    "fake_eb.fixtures",
]
