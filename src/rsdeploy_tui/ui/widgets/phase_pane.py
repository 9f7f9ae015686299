"""One phase tab's content: progress bar, gate note, the item list, detail panel and run output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.widgets.changed import update_changed
from rsdeploy_tui.ui.widgets.detail import ItemDetail
from rsdeploy_tui.ui.widgets.item_list import ItemList
from rsdeploy_tui.ui.widgets.progress import PhaseProgress
from rsdeploy_tui.ui.widgets.run_output import RunOutputView

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Phase
    from rsdeploy_tui.session import SessionState
    from rsdeploy_tui.ui.context import RunbookContext


def gate_note(phase: Phase, state: SessionState) -> str:
    """One line about the phase's gate: open, overridden, or which items it waits for."""
    if not phase.gate:
        return ""
    override = state.gate_overrides.get(phase.id)
    if override is not None:
        return f"Gate overridden by {override.by}: {override.reason}"
    waiting = [ref for ref in phase.gate if not view.is_done(state, ref)]
    if not waiting:
        return "Gate open: " + ", ".join(phase.gate)
    return "Gated until done: " + ", ".join(waiting)


class PhasePane(Vertical):
    """Everything inside one phase tab; mounted when the tab is first shown (start-up time)."""

    def __init__(self, phase: Phase, ctx: RunbookContext) -> None:
        super().__init__(classes="phase")
        self.phase = phase
        self.ctx = ctx
        # Kept, not queried: each landing check result and each key asks for them, and a
        # query walks the pane.
        self._progress = PhaseProgress(ctx.glyphs)
        self._note = Static("", classes="gate-note")
        self._list = ItemList(phase, ctx.glyphs, ctx.display)
        self._detail = ItemDetail()

    def compose(self) -> ComposeResult:
        yield self._progress
        self._note.display = bool(self.phase.gate)
        yield self._note
        with Horizontal(classes="phase-body"):
            yield self._list
            # The right column: the detail panel, and under it the shown run's output.
            with Vertical(classes="detail-column"):
                yield self._detail
                yield RunOutputView()

    def on_mount(self) -> None:
        # The screen fills the list from the session now that it exists.
        mounted = getattr(self.screen, "phase_pane_mounted", None)
        if mounted is not None:
            mounted(self)

    @property
    def item_list(self) -> ItemList:
        """The phase's item list."""
        return self._list

    @property
    def detail(self) -> ItemDetail:
        """The phase's detail panel."""
        return self._detail

    def show_state(self, state: SessionState) -> None:
        """Re-render progress, gate note and changed item lines."""
        self.item_list.update_state(state)
        done, total = view.phase_counts(self.phase, state)
        self._progress.set_progress(done, total)
        update_changed(self._note, Text(gate_note(self.phase, state)))
