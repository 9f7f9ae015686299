"""The runbook's header figures: progress, elapsed time, who drives the session, shared status.

A mixin of ``RunbookScreen``, kept apart so each file stays small; it reads the session and the
derived state only (the header widget is ``ui/widgets/header.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.widgets.header import RunbookHeader

if TYPE_CHECKING:
    from textual.screen import Screen

    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.context import RunbookContext

    _Base = Screen[None]
else:
    _Base = object


class RunbookHeaderFigures(_Base):
    """What the runbook's header shows, refreshed on each record and once a second."""

    if TYPE_CHECKING:  # defined by RunbookScreen
        ctx: RunbookContext
        checklist: Checklist
        session: Session
        state: SessionState

    def _tick_clock(self) -> None:
        self._update_header()

    def _update_header(self) -> None:
        done, total, critical = view.overall_counts(self.checklist, self.state)
        created = getattr(getattr(self.session, "meta", None), "created", None)
        elapsed = 0.0
        if created:
            try:
                elapsed = (self.ctx.clock() - datetime.fromisoformat(created)).total_seconds()
            except (TypeError, ValueError):
                elapsed = 0.0
        version = str(self.state.facts.get("version") or self.ctx.values.get("version", ""))
        self.query_one(RunbookHeader).show_figures(
            glyphs=self.ctx.glyphs,
            checklist=self.checklist.name,
            eb_env=self.ctx.values.get("eb_env", ""),
            operator=self._operator_text(),
            session_id=self.session.id,
            elapsed_s=elapsed,
            done=done,
            total=total,
            critical_pending=critical,
            version=version,
            failing=len(view.failing_items(self.checklist.iter_items(), self.state)),
            shared=self._shared_text(),
        )

    def _shared_text(self) -> str:
        """The shared store's status for the header (#18; empty for a local-only session)."""
        shared = getattr(self.session, "shared", None)
        if shared is not None:
            return str(shared.status())
        return "shared: viewing" if getattr(self.session, "follow_shared", None) else ""

    def _operator_text(self) -> str:
        """Who drives the session now (and who started it, when someone else did)."""
        started_by = getattr(getattr(self.session, "meta", None), "operator", "")
        now = getattr(self.session, "operator", "") or started_by
        if self.session.read_only:
            return f"{now} (viewing)"
        return now if now == started_by or not started_by else f"{now} (started by {started_by})"
