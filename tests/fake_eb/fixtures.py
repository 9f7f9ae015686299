"""Fixture ``fake_eb``: the fake EB CLI first on PATH (registered in tests/conftest.py).

Behaviour is chosen with FAKE_EB_* environment variables; see the docstring of ``eb``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FAKE_EB_DIR = Path(__file__).resolve().parent
FAKE_EB = FAKE_EB_DIR / "eb"


@pytest.fixture
def fake_eb(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put tests/fake_eb first on PATH (so ``eb`` is the fake); returns the script's path."""
    monkeypatch.setenv("PATH", f"{FAKE_EB_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in [n for n in os.environ if n.startswith("FAKE_EB_")]:
        monkeypatch.delenv(name)
    return FAKE_EB
