"""The real Django project (``rs_django/``): fixtures giving a fresh copy per test.

``rs_django`` is a small but real Django 5.2 project (app ``repairs`` with models, a destructive
migration ``repairs.0002_remove_technician_is_manager`` that drops ``Technician.is_manager``, a
test suite, production settings switched by environment variables). Tests get a copy in their
``tmp_path`` (never the source tree), optionally in a variant:

    project = make_django_project(tests="none")          # zero tests
    project = make_django_project(tests="fail")          # one failing test
    project = make_django_project(migrated="before_destructive")   # 0002 not applied yet
    project = make_django_project(model_changes=True)    # a model change with no migration
    project = make_django_project(database=pg_server)    # PostgreSQL (a fresh database)
    project = make_django_project(secure=False, debug=True)   # `check --deploy` warns

``project.vars`` are the checklist vars (``manage``, ``app_dir``) pointing at it;
``project.environ()`` is the process environment its commands need (secret key, database).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parent / "rs_django"
DESTRUCTIVE_MIGRATION = "repairs.0002_remove_technician_is_manager"
"""The migration that drops ``repairs_technician.is_manager`` (``Remove field is_manager from
technician`` in ``migrate --plan``)."""
TEST_COUNT = 3
"""Tests in the healthy project's suite."""

_FAILING_TEST = '''

class BrokenTests(TestCase):
    def test_price_is_never_negative(self) -> None:
        self.assertEqual(1 + 1, 3, "a deliberately failing test")
'''
_MODEL_CHANGE = '''

class Invoice(models.Model):
    """Added without a migration: `makemigrations --check` must notice."""

    repair = models.ForeignKey(Repair, on_delete=models.CASCADE)
'''


@dataclasses.dataclass
class DjangoProject:
    """A copy of the real Django project and how to run its ``manage.py``."""

    path: Path
    """The project directory (holds ``manage.py``)."""
    python: str
    """Interpreter with Django installed (the test's own)."""
    env: dict[str, str]
    """Variables its commands need on top of ``os.environ`` (secret key, database, flags)."""
    database: Any = None
    """The ``PostgresServer`` (bound to this project's database) when it uses PostgreSQL."""

    @property
    def manage(self) -> str:
        """Shell form of ``python manage.py`` (the ``manage`` checklist var)."""
        return shlex.join([self.python, str(self.path / "manage.py")])

    @property
    def vars(self) -> dict[str, str]:
        """Checklist vars pointing at this project: ``manage`` and ``app_dir``."""
        return {"manage": self.manage, "app_dir": str(self.path)}

    @property
    def secret_key(self) -> str:
        """The project's SECRET_KEY (a secret: tests may look for it in output)."""
        return self.env["DJANGO_SECRET_KEY"]

    def environ(self) -> dict[str, str]:
        """``os.environ`` plus ``env``: give it to checks (``CheckContext.environ``) or the app."""
        return {**os.environ, **self.env}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py ARGS`` now in the project directory; output captured as text."""
        return subprocess.run(
            [self.python, "manage.py", *args], cwd=self.path, env=self.environ(),
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def migrate(self, *args: str) -> None:
        """``manage.py migrate ARGS`` (e.g. ``"repairs", "0001"``); raises if it fails."""
        done = self.run("migrate", "--noinput", *args)
        if done.returncode != 0:
            raise RuntimeError(f"migrate {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def build_django_project(
    dest: Path,
    *,
    tests: str = "ok",
    migrated: str = "all",
    model_changes: bool = False,
    database: Any = None,
    secure: bool = True,
    debug: bool = False,
) -> DjangoProject:
    """Copy the project to ``dest`` in a variant and migrate its database.

    Args:
        tests: ``ok`` (3 passing), ``none`` (no test at all), ``fail`` (one failing test added).
        migrated: ``all``, ``before_destructive`` (only ``repairs.0001``: the destructive
            0002 is pending) or ``none`` (nothing applied).
        model_changes: add a model without a migration.
        database: a ``PostgresServer``: use a fresh database on it instead of SQLite.
        secure: production security settings (``check --deploy`` clean) or none of them.
        debug: ``DEBUG = True``.
    """
    shutil.copytree(SOURCE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3",
                                                                "staticfiles"))
    tests_py = dest / "repairs" / "tests.py"
    if tests == "none":
        tests_py.unlink()
    elif tests == "fail":
        tests_py.write_text(tests_py.read_text() + _FAILING_TEST)
    elif tests != "ok":
        raise ValueError(f"tests must be ok, none or fail, not {tests!r}")
    if model_changes:
        models_py = dest / "repairs" / "models.py"
        models_py.write_text(models_py.read_text() + _MODEL_CHANGE)
    env = {
        "DJANGO_SECRET_KEY": "rs-django-" + secrets.token_urlsafe(48),
        "DJANGO_SECURE": "true" if secure else "false",
        "DJANGO_DEBUG": "true" if debug else "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    bound = None
    if database is not None:
        name = database.create_database()
        bound = database.for_database(name)
        env.update(bound.env(name))
    else:
        env["DJANGO_SQLITE"] = str(dest / "db.sqlite3")
        # A PostgreSQL fixture of the same test must not redirect this project.
        for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"):
            env[key] = ""
    project = DjangoProject(path=dest, python=sys.executable, env=env, database=bound)
    if migrated == "all":
        project.migrate()
    elif migrated == "before_destructive":
        project.migrate()
        project.migrate("repairs", "0001")
    elif migrated != "none":
        raise ValueError(f"migrated must be all, before_destructive or none, not {migrated!r}")
    return project


def _require_django() -> None:
    try:
        import django  # noqa: F401
    except ImportError:
        from support.real_parts import need

        need("Django", "it is not installed in the test venv",
             "pip install -e '.[test]' (Django 5.2 is in the test extras)")


@pytest.fixture
def make_django_project(tmp_path: Path) -> Iterator[Callable[..., DjangoProject]]:
    """Factory: ``make_django_project(**variant)`` -> a fresh copy (``build_django_project``)."""
    _require_django()
    made: list[DjangoProject] = []

    def make(**variant: Any) -> DjangoProject:
        project = build_django_project(tmp_path / f"rs_django_{len(made)}", **variant)
        made.append(project)
        return project

    yield make
    for project in made:
        if project.database is not None:
            project.database.drop_database(project.env["DB_NAME"])


@pytest.fixture
def django_project(make_django_project: Callable[..., DjangoProject]) -> DjangoProject:
    """The healthy project on SQLite: all migrations applied, 3 passing tests, secure settings."""
    return make_django_project()


@pytest.fixture
def django_destructive_project(make_django_project: Callable[..., DjangoProject]) -> DjangoProject:
    """The project with ``repairs.0002_remove_technician_is_manager`` (drops a column) not yet
    applied: ``migrate --plan`` lists it, ``migrate`` would drop ``is_manager``."""
    return make_django_project(migrated="before_destructive")
