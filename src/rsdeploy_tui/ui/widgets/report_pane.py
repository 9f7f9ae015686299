"""What the Deployment Log and Communication tabs share: where their text comes from and goes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.containers import Vertical

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.reports.facts import utc_clock


class ReportPane(Vertical):
    """A tab rendered from the session by the reports layer.

    Args:
        checklist: The checklist the session runs.
        session: The open ``Session`` (read-only is fine).
        vars: Resolved vars (default: those recorded in the session).
        clock: Current time (fixed in tests).
        save_dir: Where ``s`` writes its file (default: the working directory, where the operator
            finds it).
        git_dir: Repository for the changes list (default: var ``app_dir``).
        use_git: False to never run ``git log``.
    """

    def __init__(
        self,
        checklist: Checklist,
        session: Any,
        *,
        vars: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_clock,
        save_dir: Path | None = None,
        git_dir: Path | None = None,
        use_git: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.checklist = checklist
        self.session = session
        self.vars = dict(vars) if vars is not None else None
        self.clock = clock
        self.save_dir = save_dir
        self.git_dir = git_dir
        self.use_git = use_git

    def in_save_dir(self, file_name: str) -> Path:
        """Where ``s`` writes ``file_name``."""
        folder = self.save_dir if self.save_dir is not None else Path.cwd()
        return folder / file_name

    @property
    def session_id(self) -> str:
        """The session's id, for file names."""
        return str(getattr(self.session, "id", "session"))
