"""A small App hosting one report widget, as the TUI mounts them in its tabs."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.widget import Widget


class WidgetHost(App[None]):
    """Hosts the widget built by ``make`` and nothing else."""

    def __init__(self, make: Callable[[], Widget]) -> None:
        super().__init__()
        self._make = make

    def compose(self) -> ComposeResult:
        yield self._make()
