"""The fake Django project: ``fake_manage`` fixture around ``fake_django/manage.py``.

The script prints Django 5.2's real output formats; environment variables pick its behaviour
(see the docstring of ``fake_django/manage.py``).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

MANAGE_PY = Path(__file__).resolve().parent / "fake_django" / "manage.py"


@dataclasses.dataclass(frozen=True)
class FakeManage:
    """How to run the fake ``manage.py``."""

    path: Path
    """Absolute path of the executable script (``#!/usr/bin/env python3``)."""
    python: str
    """Interpreter used by ``command``/``argv`` (the test's own)."""

    @property
    def argv(self) -> list[str]:
        """``[python, path]``; append the sub-command and options."""
        return [self.python, str(self.path)]

    @property
    def command(self) -> str:
        """Shell form, e.g. ``/work/venv/bin/python /…/manage.py`` (append ``check --deploy``)."""
        return shlex.join(self.argv)

    def __str__(self) -> str:
        return self.command

    @staticmethod
    def env(
        mode: str = "clean",
        migrations: str = "none",
        tests: str = "ok",
        model_changes: str = "none",
        state_file: Path | None = None,
        line_delay: float = 0.0,
        log_file: Path | None = None,
    ) -> dict[str, str]:
        """Environment variables selecting the fake's behaviour (merge into a process env)."""
        env = {
            "FAKE_DJANGO_MODE": mode,
            "FAKE_DJANGO_MIGRATIONS": migrations,
            "FAKE_DJANGO_TESTS": tests,
            "FAKE_DJANGO_MODEL_CHANGES": model_changes,
            "FAKE_DJANGO_LINE_DELAY": str(line_delay),
        }
        if state_file is not None:
            env["FAKE_DJANGO_STATE"] = str(state_file)
        if log_file is not None:
            env["FAKE_DJANGO_LOG"] = str(log_file)
        return env

    def run(self, *args: str, **modes: object) -> subprocess.CompletedProcess[str]:
        """Run a sub-command now (``modes`` as for ``env``); output captured as text."""
        env = {**os.environ, **self.env(**modes)}  # type: ignore[arg-type]
        return subprocess.run(
            [*self.argv, *args], capture_output=True, text=True, env=env, timeout=30, check=False
        )


@pytest.fixture
def fake_manage(monkeypatch: pytest.MonkeyPatch) -> FakeManage:
    """The fake manage.py; FAKE_DJANGO_* variables cleared so each test starts healthy."""
    for name in list(os.environ):
        if name.startswith("FAKE_DJANGO_"):
            monkeypatch.delenv(name)
    return FakeManage(path=MANAGE_PY, python=sys.executable)
