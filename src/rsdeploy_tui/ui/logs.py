"""``l`` / ``L``: the ``eb logs`` pane of one runbook screen, docked or full screen.

The pane (``ui/widgets/log_pane.py``) is built the first time it is asked for, so a launch never
pays for it; after that ``l`` only shows or hides it (it keeps streaming while hidden).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen
    from rsdeploy_tui.ui.widgets.log_pane import LogPane


class LogsToggle:
    """Shows, hides and maximizes the runbook's log pane."""

    def __init__(self, screen: RunbookScreen) -> None:
        self.screen = screen
        self.pane: LogPane | None = None

    def toggle(self, full: bool = False) -> None:
        """``l``: show/hide the docked pane; ``L``: full screen on/off."""
        screen = self.screen
        if self.pane is None:
            screen.run_worker(self._mount(full), group="logs-start", exit_on_error=False)
            return
        is_full = screen.has_class("-logs-full")
        if full:
            showing = not is_full
            screen.set_class(showing, "-logs-full")
        else:
            showing = not screen.has_class("-logs") or is_full
            screen.set_class(False, "-logs-full")
        screen.set_class(showing or full, "-logs")
        self._focus(showing or full)

    async def _mount(self, full: bool) -> None:
        from rsdeploy_tui.ui.widgets.log_pane import LogPane

        screen = self.screen
        session = screen.session
        archive = None if session.read_only else Path(session.dir) / "logs"
        self.pane = LogPane(dict(screen.ctx.values), source=screen.ctx.services.get("log_source"),
                            archive_dir=archive, redactor=session.redactor)
        await screen.mount(self.pane, before=screen.query_one("KeyBar"))
        screen.set_class(True, "-logs")
        screen.set_class(full, "-logs-full")
        self._focus(True)

    def _focus(self, showing: bool) -> None:
        from rsdeploy_tui.ui.widgets.log_pane import PaneLog

        if showing and self.pane is not None:
            self.pane.query_one(PaneLog).focus()
        elif self.screen.current_list is not None:
            self.screen.current_list.focus()
