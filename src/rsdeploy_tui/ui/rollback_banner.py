"""The rollback banner: a red line under the header once a rollback has started.

It shows the latest ``rollback_started`` of the session — the "When to Rollback" criterion that
fired (and on which item), or the operator's typed reason — and the key that opens the Rollback
phase. It renders only from the session state, so a resumed session shows it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from rsdeploy_tui.ui.view import short_time

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import SessionState


class RollbackBanner(Static):
    """Hidden until a rollback starts; then names why and offers ``R`` for the Rollback phase;
    says so once every Rollback step is done or skipped (class ``-complete``)."""

    def __init__(self, checklist: Checklist, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.checklist = checklist

    def on_mount(self) -> None:
        # A resumed session whose rollback already started shows the banner at once.
        state = getattr(self.screen, "state", None)
        if state is not None:
            self.refresh_from(state)

    def refresh_from(self, state: SessionState) -> None:
        """Show the latest rollback of ``state``, or hide when there is none."""
        rollback = state.rollback
        self.set_class(rollback is not None, "-active")
        if rollback is None:
            self.update("")
            return
        from rsdeploy_tui.ui.landing import rollback_complete

        complete = rollback_complete(self.checklist, state)
        self.set_class(complete, "-complete")
        criterion = self.checklist.trigger(rollback.trigger) if rollback.trigger else None
        line = Text(no_wrap=True, overflow="ellipsis")
        # A short terminal (class -short on the screen) gets one line: the reason on it.
        compact = self.screen.has_class("-short") if self.is_attached else False
        newline = "  " if compact else "\n"
        if complete:
            line.append(" ROLLBACK COMPLETE ", style="bold reverse")
            line.append(" every Rollback step is done or skipped (started at "
                        f"{short_time(rollback.at)})", style="bold")
            line.append(f"   R: the Rollback phase{newline}")
            line.append(f"Why: {rollback.reason}")
            self.update(line)
            return
        line.append(" ROLLBACK ", style="bold reverse")
        if compact:  # one line: the reason matters most, the key hint last
            why = rollback.reason.split(" — ", 1)[-1] if criterion is not None else rollback.reason
            line.append(f" {criterion.text + ': ' if criterion is not None else ''}{why}",
                        style="bold")
            line.append("   R: the Rollback phase")
            self.update(line)
            return
        if criterion is not None:
            line.append(f" criterion met: {criterion.text}", style="bold")
            # The reason repeats the criterion, then names the item and what its check saw.
            reason = rollback.reason.split(" — ", 1)[-1]
        else:
            line.append(f" started at {short_time(rollback.at)}", style="bold")
            reason = rollback.reason
        line.append(f"   R: go to the Rollback phase{newline}")
        line.append(reason)
        self.update(line)
