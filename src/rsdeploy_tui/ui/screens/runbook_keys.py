"""The runbook's own keys: tick, untick, skip, note, gates, moving around, filter, quit.

A mixin of ``RunbookScreen`` (kept apart so each file stays small). Everything here changes the
session only through ``self.record`` and reads item state only from ``self.state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Input

from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.widgets.item_list import ItemList
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item, Phase

LOG_TAB = "tab-deployment-log"
MESSAGES_TAB = "tab-messages"
EXTRA_TABS = (LOG_TAB, MESSAGES_TAB)


def pane_id(phase: Phase) -> str:
    """TabPane id of a phase (Textual ids allow letters, digits, - and _)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in phase.id)
    return f"phase-{safe}"


if TYPE_CHECKING:
    from textual.screen import Screen

    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.context import RunbookContext

    _Base = Screen[None]
else:
    _Base = object


class FilterBox(Input):
    """The filter box: Enter hands the keyboard back to the list at once.

    Moving the focus when the screen gets ``Input.Submitted`` is too late in a burst: the key
    after Enter (``/health<Enter><Space>``) has been routed to the box by then.
    """

    async def action_submit(self) -> None:
        """Keep the filter and go back to the item list now."""
        await super().action_submit()
        item_list = getattr(self.screen, "current_list", None)
        if item_list is not None:
            self.screen.set_focus(item_list)


class RunbookKeys(_Base):
    """Actions bound to the runbook's keys (see ``RunbookScreen.BINDINGS``)."""

    if TYPE_CHECKING:  # provided by RunbookScreen
        ctx: RunbookContext
        checklist: Checklist
        session: Session
        state: SessionState

        @property
        def current_item(self) -> Item | None: ...
        @property
        def current_list(self) -> ItemList | None: ...
        @property
        def tabs(self) -> PhaseTabs: ...
        @property
        def item_lists(self) -> list[ItemList]: ...
        def record(self, kind: str, item: str | None = None, **data: Any) -> bool: ...
        def _update_detail(self) -> None: ...
        def remember_cursor(self) -> None: ...
        async def _ensure_phase_pane(self, pane: Any) -> Any: ...

    # ---------------------------------------------------------------- ticking
    def enter_phase(self, phase: Phase) -> None:
        """Record where work happens (tick, skip, note, run), so a resume lands in that tab."""
        if self.state.current_phase != phase.id:
            self.record("phase_entered", phase=phase.id)

    def _move_to_next_pending(self, after: str) -> None:
        item_list = self.current_list
        if item_list is None:
            return
        target = view.next_pending(item_list.visible_items, self.state, after)
        if target is not None:
            item_list.highlight_qid(target.qid)

    # ---------------------------------------------------------------- actions
    def action_tick(self) -> None:
        """Space: tick and move on; on a done item ask before unticking it (who ticked it,
        when): a space typed by habit after a resume must not undo someone's work."""
        item = self.current_item
        if item is None:
            return
        if view.state_name(self.state, item.qid) == "done":
            self._ask_untick(item)
            return
        blocking = view.blockers(self.checklist, item, self.state)
        if blocking:
            self._offer_gate_override(item, blocking)
            return
        self._tick(item)

    def _tick(self, item: Item) -> None:
        found = self.state.items.get(item.qid)
        status = found.check_status if found is not None else None
        if status in ("fail", "error"):
            self._tick_over_check(item, status)  # not green: it takes a reason, like a gate
            return
        self.enter_phase(self.checklist.phase_of(item))
        if self.record("tick", item=item.qid):
            self._move_to_next_pending(item.qid)

    def _tick_over_check(self, item: Item, status: str | None) -> None:
        found = self.state.item(item.qid)
        summary = found.check.summary if found.check is not None else ""

        def done(reason: str | None) -> None:
            if not reason:
                return
            self.enter_phase(self.checklist.phase_of(item))
            if self.record("tick", item=item.qid, reason=reason, check_status=status):
                self._move_to_next_pending(item.qid)

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.app.push_screen(
            ReasonModal(
                f"Its check {'failed' if status == 'fail' else 'could not tell'}",
                "Why tick it anyway? (recorded in the deployment log)",
                body=f"{self.ctx.display(item.text)}\n\nLatest check: {status}: {summary}",
                ok_label="Tick anyway",
            ),
            done,
        )

    def _untick(self, item: Item) -> None:
        self.record("untick", item=item.qid)

    def _ask_untick(self, item: Item) -> None:
        found = self.state.item(item.qid)
        title = "Untick a CRITICAL item?" if item.critical else "Untick this item?"
        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.app.push_screen(
            ConfirmModal(
                title,
                f"{self.ctx.display(item.text)}\n\nTicked by {found.by or '?'} at "
                f"{view.short_time(found.at)}. Unticking puts it back to pending (recorded).",
                yes="Untick",
                no="Keep it done",
            ),
            lambda yes: self._untick(item) if yes else None,
        )

    def _offer_gate_override(self, item: Item, blocking: list[Item]) -> None:
        phase = self.checklist.phase_of(item)
        body = view.gate_message(phase, blocking, self.state, self.ctx.display, self.ctx.glyphs)

        def done(reason: str | None) -> None:
            if reason and self.record("gate_override", phase=phase.id, reason=reason):
                self._tick(item)

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.app.push_screen(
            ReasonModal(
                f"{phase.title} is gated",
                "Override reason (recorded in the log)",
                body=body,
                ok_label="Override and tick",
            ),
            done,
        )

    def action_skip(self) -> None:
        """Skip the item; a reason is required."""
        item = self.current_item
        if item is None:
            return

        def done(reason: str | None) -> None:
            if not reason:
                return
            self.enter_phase(self.checklist.phase_of(item))
            if self.record("skip", item=item.qid, reason=reason):
                self._move_to_next_pending(item.qid)

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        from rsdeploy_tui.ui.screens.runbook_outcomes import skip_reasons
        self.app.push_screen(
            ReasonModal(
                "Skip item",
                "Why is it skipped? (required)",
                body=self.ctx.display(item.text),
                ok_label="Skip",
                choices=skip_reasons(self.session),
            ),
            done,
        )

    def action_note(self) -> None:
        """Add a note to the item."""
        item = self.current_item
        if item is None:
            return

        def done(text: str | None) -> None:
            if text:
                self.enter_phase(self.checklist.phase_of(item))
                self.record("note", item=item.qid, text=text)

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.app.push_screen(
            ReasonModal("Add a note", "Note (enter saves)", body=self.ctx.display(item.text)),
            done,
        )

    # ---------------------------------------------------------------- moving around
    async def action_next_pending(self) -> None:
        """Go to the next pending item, across phases (wrapping round to the first phase)."""
        item = self.current_item
        target = view.next_pending(
            self.checklist.items, self.state, item.qid if item is not None else None
        )
        if target is None:
            self.notify("Nothing pending: every item is done or skipped.")
            return
        await self._focus_item(target)

    def focus_item(self, item: Item) -> None:
        """Switch to the item's tab and put the cursor on it (done once the tab is built)."""
        self.call_later(self._focus_item, item)

    async def _focus_item(self, item: Item) -> None:
        """Switch to the item's tab and put the cursor on it (clearing a filter hiding it)."""
        tabbed = self.tabs
        phase = self.checklist.phase_of(item)
        phase_pane = await self._ensure_phase_pane(tabbed.get_pane(pane_id(phase)))
        assert phase_pane is not None
        tabbed.active = pane_id(phase)
        item_list = phase_pane.item_list
        if not item_list.highlight_qid(item.qid):
            self.action_clear_filter()
            item_list.highlight_qid(item.qid)
        item_list.focus()
        self._update_detail()

    _filter_box: Input | None = None
    """The filter box: built the first time `/` is pressed, then kept (asked at every key and
    every landing result: a query would walk the whole screen each time)."""

    async def action_filter(self) -> None:
        """Show the filter box (built the first time: most launches never filter)."""
        box = self._filter_box
        if box is None:
            box = FilterBox(placeholder="filter items (enter keeps it, escape clears)",
                            id="filter")
            await self.mount(box, after="#phases")
            self._filter_box = box
        box.display = True
        # Now, not after the queue (Widget.focus): the keys typed right after `/` in the same
        # burst are routed to whatever has the focus when their turn comes (ui/keyboard.py).
        self.set_focus(box)
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter."""
        box = self._filter_box
        if box is not None:
            if box.value:
                box.value = ""
                for item_list in self.item_lists:
                    item_list.rebuild(self.state, "")
            box.display = False
        if self.current_list is not None:
            self.set_focus(self.current_list)  # now: the next key of a burst acts on the list
        self._update_detail()
        self.refresh_bindings()

    def action_cursor(self, step: int) -> None:
        """j/k move like down/up."""
        item_list = self.current_list
        if item_list is not None:
            item_list.focus()
            item_list.action_cursor_down() if step > 0 else item_list.action_cursor_up()

    def action_switch_phase(self, step: int) -> None:
        """left/right: previous/next tab (the Deployment Log tab included)."""
        tabbed = self.tabs
        ids = [pane_id(p) for p in self.checklist.phases] + list(EXTRA_TABS)
        current = ids.index(tabbed.active) if tabbed.active in ids else 0
        tabbed.active = ids[(current + step) % len(ids)]

    def action_goto_phase(self, number: int) -> None:
        """1-9: the n-th tab (the phases, then Deployment Log and Messages, as help says)."""
        ids = [pane_id(p) for p in self.checklist.phases] + list(EXTRA_TABS)
        if 1 <= number <= len(ids):
            self.tabs.active = ids[number - 1]
        else:
            self.notify(f"There is no tab {number}: tabs go from 1 to {len(ids)}.",
                        severity="warning")

    def action_help(self) -> None:
        """Every key."""
        from rsdeploy_tui.ui.screens.help import HelpScreen
        self.app.push_screen(HelpScreen(self.ctx.glyphs))

    def running_work(self) -> list[str]:
        """What would be interrupted by quitting: running items and check workers."""
        running = [qid for qid, s in self.state.items.items() if s.state == "running"]
        busy = [w.name for w in self.app.workers if w.group == "checks" and w.is_running]
        return running + busy

    def action_request_quit(self) -> None:
        """Quit; ask first when commands or checks are running."""
        running = self.running_work()
        if not running:
            self._quit_now()
            return
        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.app.push_screen(
            ConfirmModal(
                "Work is running",
                f"{len(running)} command(s) or check(s) are running. Detached commands keep "
                "running and are re-attached on resume; checks in progress are lost. Quit?",
                yes="Quit",
                no="Stay",
            ),
            lambda yes: self._quit_now() if yes else None,
        )

    def _quit_now(self) -> None:
        from rsdeploy_tui.ui.typeahead import stop_reading_keys

        stop_reading_keys(self.app)  # what is typed from now on is for the shell
        self.app.stop_routing_keys()  # and so is what came in the same burst as q
        self.remember_cursor()
        self.app.exit_behind_typed_keys(self.session.id)
