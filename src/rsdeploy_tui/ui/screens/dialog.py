"""The base of every dialog (a modal screen the operator answers).

Its styles (``styles/modals.tcss``) load with the first dialog shown rather than with the app:
the first frame does without them (bench/startup.py). Styles a runbook widget needs without any
dialog open (text boxes, toasts) are in ``styles/app.tcss``.
"""

from __future__ import annotations

from textual.screen import ModalScreen, ScreenResultType

from rsdeploy_tui import locations


class Dialog(ModalScreen[ScreenResultType]):
    """A modal screen styled by ``styles/modals.tcss``."""

    CSS_PATH = [locations.style_path("modals.tcss")]
