"""What a first-time operator needs from README.md, found missing in an acceptance pass."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_puts_the_command_on_path() -> None:
    """After `pip install .` into .venv, `rsdeploy-tui resume ...` (the hint printed on quit)
    was "command not found": the README never said to activate the venv."""
    assert "source .venv/bin/activate" in README


def test_readme_says_where_to_start_it() -> None:
    """Started from anywhere but the Django project, every manage.py check failed with
    "can't open file 'manage.py'" and the secrets scan read the wrong tree."""
    assert "where `manage.py` is" in README
    assert "--set app_dir=" in README


def test_readme_names_what_a_real_deployment_needs() -> None:
    for needed in ("eb init", "aws_region", "DB_HOST", "pg_dump"):
        assert needed in README, needed
