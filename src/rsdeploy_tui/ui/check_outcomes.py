"""What a check result leads to: ticking the passed items, and rollbacks.

A mixin of ``CheckController`` (``ui/checking.py``), kept apart so each file stays small: a pass
ticks (``auto_tick``) or waits for ``T``; a fail on an item naming a rollback criterion starts the
rollback once; ``R`` starts one by hand and opens the Rollback phase. Everything is recorded
through ``RunbookScreen.record``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rsdeploy_tui.checklist.model import ROLLBACK_PHASE
from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.rollback_banner import RollbackBanner

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item
    from rsdeploy_tui.checks.registry import CheckResult
    from rsdeploy_tui.session import Session
    from rsdeploy_tui.ui.checking import Batch
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen


class CheckOutcomes:
    """Ticks and rollbacks that follow from check results (see ``CheckController``)."""

    if TYPE_CHECKING:  # set by CheckController.__init__
        screen: RunbookScreen
        checklist: Checklist
        session: Session
        to_tick: list[str]

    async def _passed(self, item: Item) -> None:
        found = self.screen.state.items.get(item.qid)
        if found is None or found.state in ("done", "skipped") or found.check_status != "pass":
            return
        if item.auto_tick and not view.blockers(self.checklist, item, self.screen.state):
            await self.screen.record_async("tick", item=item.qid)
            return
        self.to_tick.append(item.qid)

    def _triggered(self, item: Item, result: CheckResult, batch: Batch) -> None:
        """A failed check on an item naming a rollback criterion: banner + rollback_started."""
        assert item.rollback_trigger is not None
        criterion = self.checklist.trigger(item.rollback_trigger)
        if criterion is None:
            return
        from rsdeploy_tui.rollback import describe_trigger  # not needed for the first frame

        sentence = describe_trigger(self.checklist, criterion, item.qid)
        already = any(e.kind == "rollback_started" and e.data.get("trigger") == criterion.id
                      for e in self.session.events)
        if not already:
            self.screen.record("rollback_started", reason=f"{sentence} {result.summary}",
                               trigger=criterion.id)
        self.banner().refresh_from(self.screen.state)
        if criterion.text not in batch.criteria:
            batch.criteria.append(criterion.text)


    # ---------------------------------------------------------------- ticking
    def tick_passed(self) -> None:
        """``T``: tick every item whose check passed (gates and requires still apply)."""
        state = self.screen.state
        ticked, blocked = 0, []
        for qid in list(self.to_tick):
            self.to_tick.remove(qid)
            item = self.checklist.find_item(qid)
            found = state.items.get(qid)
            if item is None or found is None or found.check is None:
                continue
            if found.check_status != "pass" or found.state in ("done", "skipped"):
                continue  # never tick on a result that failed, errored or went stale
            if view.blockers(self.checklist, item, state):
                blocked.append(qid)
                continue
            if not self.screen.record("tick", item=qid):
                break
            state = self.screen.state
            ticked += 1
        self.screen.app.clear_notifications()  # the "press T" offer is answered
        message = f"Ticked {ticked} item(s) whose check passed."
        if blocked:
            message += f" Not ticked (gated): {', '.join(blocked)}."
        self.screen.notify(message, severity="warning" if blocked else "information")

    # ---------------------------------------------------------------- phases
    # ---------------------------------------------------------------- rollback
    def banner(self) -> RollbackBanner:
        """The rollback banner mounted by the runbook."""
        return self.screen.query_one(RollbackBanner)

    def rollback(self) -> None:
        """``R``: ask for a reason and start a rollback; once started, go to the Rollback phase."""
        if self.screen.state.rollback is not None:
            self.goto_rollback_phase()
            return
        body = "\n".join(f"- {c.text}" for c in self.checklist.rollback_triggers)
        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.screen.app.push_screen(
            ReasonModal("Start a rollback",
                        "Why roll back? (recorded in the deployment log)",
                        body=f"When to roll back:\n{body}" if body else "",
                        ok_label="Start rollback"),
            self._rollback_reason)

    def _rollback_reason(self, reason: str | None) -> None:
        if not reason:
            return
        if self.screen.record("rollback_started", reason=reason, trigger=None):
            self.banner().refresh_from(self.screen.state)
            # After the modal is gone: closing it gives the focus back to the old tab's list.
            self.screen.app.call_later(self.goto_rollback_phase)

    def goto_rollback_phase(self) -> None:
        """Show the Rollback phase, cursor on its first pending step."""
        try:
            phase = self.checklist.phase(ROLLBACK_PHASE)
        except KeyError:
            self.screen.notify("This checklist has no Rollback phase.", severity="warning")
            return
        target = view.next_pending(phase.items, self.screen.state, None) or (
            phase.items[0] if phase.items else None)
        if target is not None:
            self.screen.focus_item(target)

    # ---------------------------------------------------------------- rendering
