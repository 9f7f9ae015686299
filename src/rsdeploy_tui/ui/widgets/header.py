"""The runbook header: what is being deployed, by whom, and how far it has got."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rsdeploy_tui.ui.glyphs import Glyphs
from rsdeploy_tui.ui.widgets.changed import update_changed


def elapsed_text(seconds: float) -> str:
    """``1:02:03`` for a deployment's elapsed time."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class RunbookHeader(Static):
    """Two lines: environment, version, operator, checklist / session, elapsed, progress."""

    def show_figures(
        self,
        *,
        glyphs: Glyphs,
        checklist: str,
        eb_env: str,
        operator: str,
        session_id: str,
        elapsed_s: float,
        done: int,
        total: int,
        critical_pending: int,
        version: str = "",
        failing: int = 0,
        shared: str = "",
    ) -> None:
        """Show the current figures (called on every state change and once a second)."""
        sep = f" {glyphs.sep} "
        # Each line is cut, never wrapped (styles/runbook.tcss), so the progress line always
        # shows; the checklist's name comes last on its line: it is the first thing to give way.
        top = Text()
        top.append("env ", style="dim")
        top.append(eb_env or "?", style="bold")
        if version:
            top.append(sep)
            top.append("version ", style="dim")
            top.append(version)
        top.append(sep)
        top.append("operator ", style="dim")
        top.append(operator or "?")
        top.append(sep)
        top.append(checklist, style="bold")
        bottom = Text()
        bottom.append("session ", style="dim")
        bottom.append(session_id)
        bottom.append(sep)
        if shared:  # the shared store's word (#18): offline / events not yet shared / read-only
            quiet = shared == "shared" or shared.startswith("shared: viewing")
            bottom.append(shared, style="dim" if quiet else "bold yellow")
            bottom.append(sep)
        bottom.append(elapsed_text(elapsed_s))
        bottom.append(sep)
        bottom.append(f"{done}/{total} done", style="bold")
        bottom.append(sep)
        if failing:  # done items whose latest check fails: not counted in done above
            bottom.append(f"{failing} done item{'s' if failing != 1 else ''} now failing",
                          style="bold reverse red")
            bottom.append(sep)
        if critical_pending:
            bottom.append(f"{critical_pending} critical pending", style="bold red")
        else:
            bottom.append("no critical pending", style="green")
        self._lines = (top, bottom)
        self._draw()

    compact = False
    """One line (a short terminal): the progress line first, then who and what."""
    _lines: tuple[Text, Text] | None = None

    def set_compact(self, compact: bool) -> None:
        """Two lines, or one when the terminal is short (``RunbookScreen`` decides)."""
        if compact != self.compact:
            self.compact = compact
            self._draw(layout=True)

    def _draw(self, layout: bool = False) -> None:
        if self._lines is None:
            return
        top, bottom = self._lines
        text = Text(" · ").join([bottom, top]) if self.compact else Text("\n").join([top, bottom])
        # asked on every event and every second; else its height is fixed by its CSS
        update_changed(self, text, layout=layout)
