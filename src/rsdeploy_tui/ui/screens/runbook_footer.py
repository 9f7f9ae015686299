"""The runbook's footer and key availability: which keys show, which are greyed, and why.

A mixin of ``RunbookScreen``, kept apart so each file stays small. ``check_action`` greys out what
cannot be done now (read-only, no item, nothing to run or check, the terminal too small); a
greyed-out key pressed says why (``WHY_NOT``); the footer shows the item keys only while the
list or detail has the focus, and fewer keys below 100 columns so q Quit stays whole.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input

from rsdeploy_tui.ui import checking, view
from rsdeploy_tui.ui.widgets.item_list import ItemList
from rsdeploy_tui.ui.widgets.phase_pane import PhasePane

if TYPE_CHECKING:
    from textual.screen import Screen

    from rsdeploy_tui.checklist.model import Item, Phase
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.checking import CheckController
    from rsdeploy_tui.ui.widgets.run_output import RunOutput

    _Base = Screen[None]
else:
    _Base = object

# Actions that change the session: disabled in read-only mode.
WRITE_ACTIONS = frozenset({"tick", "skip", "note", "run", "cancel_run", "check", "check_all",
                           "check_all_done", "fail", "skip_section", "finish"})
ITEM_ACTIONS = frozenset({"tick", "skip", "note", "run", "cancel_run", "check", "fail",
                          "skip_section"})
# Below this width the footer leaves out the keys below (help lists them), so that every key it
# shows, q Quit last, is whole at 80 columns.
NARROW_FOOTER = 100
NARROW_HIDDEN = frozenset({"next_pending", "filter"})
# Footer entries that only make sense while the item list (or detail) has the focus.
LIST_ONLY_ACTIONS = frozenset({*ITEM_ACTIONS, "next_pending", "filter", "check_all"})
# What a greyed-out key says when pressed (a key that does nothing must say why).
WHY_NOT = {
    "run": "This item has no command or built-in action to run.",
    "check": "This item has no automated check.",
    "cancel_run": "This item has nothing running to cancel.",
    "check_all": "This phase has no automated checks.",
    "check_all_done": "This phase has no automated checks.",
    "tick_passed": "No item with a passed check is waiting to be ticked.",
    "filter": "This tab has no items to filter: / works on a phase's tab.",
    "fail": "This item is running: cancel its run (x) first, or wait for its exit status.",
}
READ_ONLY = "Read-only: nothing can be changed here."


def _is_text_box(widget: object) -> bool:
    """An Input or a TextArea (the latter without importing it: it is slow to import)."""
    text_area = sys.modules.get("textual.widgets._text_area")
    return isinstance(widget, Input) or (
        text_area is not None and isinstance(widget, text_area.TextArea))

class RunbookFooter(_Base):
    """Key availability and the footer's keys (see ``RunbookScreen.BINDINGS``)."""

    if TYPE_CHECKING:  # defined by RunbookScreen
        session: Session
        state: SessionState
        checking: CheckController
        run_output: RunOutput

        @property
        def current_item(self) -> Item | None: ...
        @property
        def current_phase(self) -> Phase | None: ...
        def _filter_shown(self) -> bool: ...

    def refresh_bindings(self) -> None:
        """Tell the footer only when what it shows changed: each update rebuilds every key
        widget (tens of ms), and the list asks on every cursor move."""
        names = {b.action.split("(", 1)[0] for b in self._bindings_to_watch()}
        signature = (self.focused, tuple(sorted(
            (name, self.check_action(name, ())) for name in names)))
        if signature == getattr(self, "_bindings_signature", None):
            return
        self._bindings_signature = signature
        super().refresh_bindings()

    def on_key(self, event: events.Key) -> None:
        """A greyed-out key says why (this runs before the key's binding is looked up)."""
        if self.has_class("-too-small") or _is_text_box(self.focused):
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            action = binding.action
            if action not in WHY_NOT and action not in WRITE_ACTIONS and action != "rollback":
                continue
            if self.check_action(action, ()):
                return
            if self.session.read_only and (
                    action in WRITE_ACTIONS or action in ("tick_passed", "rollback")):
                self.notify(READ_ONLY, severity="warning")
            elif action in WHY_NOT and self._has_target(action):
                self.notify(WHY_NOT[action], severity="warning")
            return

    def _has_target(self, action: str) -> bool:
        """Whether there is an item (or phase) the key was meant for: the report tabs have none."""
        if action in ITEM_ACTIONS:
            return self.current_item is not None
        return action not in ("check_all", "check_all_done") or self.current_phase is not None

    @property
    def active_bindings(self) -> dict[str, Any]:
        """What the footer shows: while the log pane or a report tab has the focus, their keys
        (and ? and q), not the item keys, which still work but would push theirs off an
        80-column footer mid-word."""
        found = super().active_bindings
        if self.size.width < NARROW_FOOTER:  # g and / stay in help: q Quit must show whole
            found = {key: active for key, active in found.items()
                     if not (active.node is self and active.binding.action in NARROW_HIDDEN)}
        focused = self.focused
        if focused is None or isinstance(focused, ItemList) or focused.id == "filter" or any(
                isinstance(node, PhasePane) for node in focused.ancestors):
            return found
        return {key: active for key, active in found.items()
                if not (active.node is self
                        and active.binding.action.split("(", 1)[0] in LIST_ONLY_ACTIONS)}

    def _bindings_to_watch(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what cannot be done now (read-only, no item, nothing to run or check)."""
        if self.has_class("-too-small") and action != "request_quit":
            return None  # the runbook is hidden: a blind key must not tick what nobody sees
        if action in checking.ACTIONS:
            return self.checking.check_action(action)
        if action == "set_value":  # False: hidden from the footer, and v falls to "values"
            from rsdeploy_tui.ui.screens.set_value import item_missing

            return not self.session.read_only and bool(item_missing(self))
        if action in WRITE_ACTIONS and self.session.read_only:
            return None
        if action in ITEM_ACTIONS or action == "check_all":
            if action == "check_all":
                phase = self.current_phase
                return True if phase and any(i.check for i in phase.items) else None
            item = self.current_item
            if item is None:
                return None
            if action == "run" and not (item.command or item.action):
                return None
            if action == "check" and item.check is None:
                return None
            if action == "cancel_run" and view.state_name(self.state, item.qid) != "running":
                return None
            if action == "fail" and view.state_name(self.state, item.qid) == "running":
                return None
        if action == "clear_filter" and not self._filter_shown():
            return None
        if action in ("output_full", "output_wrap"):
            return self.run_output.shown is not None  # False: hidden from the footer
        if action == "switch_phase" and self.run_output.full:
            return False  # left/right scroll the full-screen output sideways
        if action == "filter" and self.current_phase is None:
            return None  # the Deployment Log and Messages tabs have no items to filter
        # False (not None) lets the key through to a text box that has the focus.
        return not (action == "switch_phase" and _is_text_box(self.focused))
