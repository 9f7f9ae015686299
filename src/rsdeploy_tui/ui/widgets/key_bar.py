"""The footer: the screen's keys on one line, drawn as Textual's ``Footer`` draws them.

Textual's ``Footer`` rebuilds one widget per key (styles, layout) whenever the screen's bindings
change, and the runbook's change as the cursor moves (``r Run`` only for an item with a command,
``x`` only for a running one): that rebuild was a third of what each key press cost the event
loop (bench/post_phase.py). ``KeyBar`` is one line of text, redrawn only when it changes.
A click on a key presses it; a greyed-out key rings the bell, as in Textual's footer.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static


_GREYED = Style(dim=True)


class KeyBar(Static):
    """Every shown binding of the screen: `` key description `` each, greyed when unavailable."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        text-overflow: clip;
        color: $footer-foreground;
        background: $footer-background;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, bool]] = []  # (start, end, key, enabled)
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.redraw)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self.redraw()  # the screen shows fewer keys below 100 columns

    def _bindings_changed(self, _screen: Any) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw the keys the screen shows now (a no-op when they did not change)."""
        if not self.is_attached:
            return
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str, bool]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue  # one entry per action, as Textual's footer
            seen.add(binding.action)
            start = line.cell_len
            greyed = Style() if enabled else _GREYED
            line.append(f" {self.app.get_key_display(binding)} ", style=key_style + greyed)
            if binding.description:
                line.append(f"{binding.description} ", style=description_style + greyed)
            spans.append((start, line.cell_len, binding.key, enabled))
        self._spans = spans
        if line != self._shown:
            self._shown = line
            self.update(line, layout=False)  # always one line

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
