"""Update a ``Static`` only when what it shows changes.

The runbook re-renders from the session after every event and every second; most widgets show
the same text as before. ``Static.update`` repaints (and by default lays the whole screen out
again) even then, which was a good part of what each check result cost the event loop.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def update_changed(widget: Static, text: Text, *, layout: bool = True) -> bool:
    """``widget.update(text, layout=layout)`` unless it already shows ``text``; True if updated.

    ``layout=False`` only for a widget whose size its CSS fixes (one line, a fixed height).
    """
    if text == getattr(widget, "_shown_text", None):
        return False
    widget._shown_text = text  # type: ignore[attr-defined]
    widget.update(text, layout=layout)
    return True
