"""Dialogs typed into tell the app when they can take keys (``ui/keyboard.py`` holds them).

Over a laggy SSH link the keys typed after ``s`` and after Enter come in the same burst. The app
holds keys from the moment such a dialog is pushed until it has focused its box
(``ready_to_type``), and after each Enter or Escape typed into it until the dialog has handled
that key (``ready_to_type`` again when it stays open, ``close_with`` when it closes)."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


class TypedInto:
    """Mixin for a ``ModalScreen`` with a text box: the app holds keys until it is ready."""

    TYPED_INTO = True

    def ready_to_type(self, box: Widget) -> None:
        """Focus ``box`` now and let the held keys through (they go to it, in order)."""
        screen: Any = self
        screen.set_focus(box)  # immediate, unlike Widget.focus()
        release = getattr(screen.app, "release_keys", None)
        if release is not None:
            release(screen)

    def close_with(self, result: Any) -> None:
        """Dismiss with ``result``; the held keys go on once the screen below is back."""
        screen: Any = self
        if not screen.is_current:
            return  # already answered (a second Enter of the same burst)
        app = screen.app
        screen.dismiss(result)
        release = getattr(app, "release_keys", None)
        if release is not None:
            app.call_after_refresh(release, screen)
