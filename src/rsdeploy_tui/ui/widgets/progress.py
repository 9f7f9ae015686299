"""A phase progress bar drawn with the terminal's glyph set (ASCII under LANG=C)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rsdeploy_tui.ui.glyphs import Glyphs
from rsdeploy_tui.ui.widgets.changed import update_changed


def bar_text(done: int, total: int, width: int, glyphs: Glyphs) -> Text:
    """``█████░░░░░ 12/45  27%``: filled cells proportional to ``done``."""
    label = f" {done}/{total}  {int(100 * done / total) if total else 100:3d}%"
    cells = max(4, width - len(label))
    full = round(cells * done / total) if total else cells
    text = Text()
    text.append(glyphs.bar_full * full, style="green")
    text.append(glyphs.bar_empty * (cells - full), style="dim")
    text.append(label)
    return text


class PhaseProgress(Static):
    """Progress of one phase; re-rendered on every state change and resize."""

    def __init__(self, glyphs: Glyphs, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._glyphs = glyphs
        self._figures = (0, 0)

    def set_progress(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``."""
        self._figures = (done, total)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.content_size.width or 40
        # every check result asks; most change nothing. One line, always (styles/runbook.tcss).
        update_changed(self, bar_text(*self._figures, width, self._glyphs), layout=False)
