"""The checklist a stored session follows, for the commands that reopen one (resume, report)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError


def followed_checklist(
    session_id: str,
    name: str,
    recorded: str | None,
    *,
    load: Callable[[Path | None], Checklist] | None = None,
) -> Checklist:
    """Load the file the session recorded; the bundled checklist only when it is that one.

    A session on the bundled checklist survives a reinstall (the bundled file moves with the
    virtualenv). Any other session whose file is gone is refused: silently following the
    bundled checklist instead would mix two checklists in one journal.

    ``load`` reads a checklist file (given None: the bundled one); default ``load_checklist``,
    the TUI passes the cached loader.

    Raises:
        RsdeployError: the recorded file is gone and the session is not on the bundled one.
    """
    if load is None:
        from rsdeploy_tui.checklist import load_checklist

        load = load_checklist
    if recorded and Path(recorded).is_file():
        return load(Path(recorded))
    bundled = load(None)
    if bundled.name == name:
        return bundled
    raise RsdeployError(
        "Checklist file not found",
        f"Session {session_id} follows '{name}' from {recorded or 'an unrecorded file'}, which "
        "is not there now. Restore the file, or pass --checklist PATH to say which checklist "
        "the session follows.",
    )
