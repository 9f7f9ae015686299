"""Shared test infrastructure: real servers on 127.0.0.1 as pytest fixtures.

Fixtures are registered in ``tests/conftest.py`` through ``pytest_plugins``; see README.md here.
Only the standard library is imported at package level so that importing ``support`` stays cheap.
"""

from __future__ import annotations

from support.net import free_port
from support.real_parts import in_ci, need, need_command, need_path

__all__ = ["free_port", "in_ci", "need", "need_command", "need_path"]
