"""The runbook's keys that decide an item or the whole session in fewer keystrokes.

``F`` marks an item failed with a reason, ``S`` skips every open item of a section with one
reason (recorded per item), ``E`` finishes the session (with the warning ``rsdeploy-tui finish``
gives about what is still open). A mixin of ``RunbookScreen``, like ``RunbookKeys``: everything
goes through ``self.record`` and reads item state from ``self.state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rsdeploy_tui.ui import view

if TYPE_CHECKING:
    from textual.screen import Screen

    from rsdeploy_tui.checklist.model import Checklist, Item, Phase, Section
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.context import RunbookContext

    _Base = Screen[None]
else:
    _Base = object

OPEN = ("pending", "failed")
"""Item states a section skip decides (done, skipped and running items are left alone)."""


def skip_reasons(session: Any) -> list[str]:
    """Skip reasons already typed in this session, newest first, each once."""
    reasons = [str(e.data.get("reason", "")) for e in reversed(session.events)
               if e.kind == "skip"]
    return list(dict.fromkeys(r for r in reasons if r.strip()))


def open_items_of(section: Section, state: SessionState) -> list[Item]:
    """The items of a section still to be decided."""
    return [i for i in section.items if view.state_name(state, i.qid) in OPEN]


def outstanding_text(checklist: Checklist, state: SessionState, display: Any) -> str:
    """What finishing now leaves open: counts, then the CRITICAL, failed and running items."""
    done, total, critical = view.overall_counts(checklist, state)
    lines = [f"{done}/{total} items done or skipped, {critical} CRITICAL pending."]
    groups: dict[str, list[Item]] = {"failed": [], "running": [], "critical": []}
    for item in checklist.iter_items():
        name = view.state_name(state, item.qid)
        if name in ("failed", "running"):
            groups[name].append(item)
        elif item.critical and name == "pending":
            groups["critical"].append(item)
    for key, heading in (("running", "Still running"), ("failed", "Failed"),
                         ("critical", "CRITICAL, not done")):
        found = groups[key]
        if not found:
            continue
        lines.append(f"\n{heading} ({len(found)}):")
        lines.extend(f"  {i.qid}  {display(i.text)}" for i in found[:5])
        if len(found) > 5:
            lines.append(f"  ... and {len(found) - 5} more")
    return "\n".join(lines)


class RunbookOutcomes(_Base):
    """Actions for ``F`` (failed), ``S`` (skip section) and ``E`` (finish the session)."""

    if TYPE_CHECKING:  # provided by RunbookScreen
        ctx: RunbookContext
        checklist: Checklist
        session: Session
        state: SessionState

        @property
        def current_item(self) -> Item | None: ...
        def record(self, kind: str, item: str | None = None, **data: Any) -> bool: ...
        def enter_phase(self, phase: Phase) -> None: ...
        def _move_to_next_pending(self, after: str) -> None: ...
        def running_work(self) -> list[str]: ...

    def action_fail(self) -> None:
        """F: the item was tried and did not work (a manual step): failed, with a reason."""
        item = self.current_item
        if item is None:
            return

        def done(reason: str | None) -> None:
            if not reason:
                return
            self.enter_phase(self.checklist.phase_of(item))
            if self.record("fail", item=item.qid, reason=reason):
                self.notify(f"Marked failed: {self.ctx.display(item.text)}",
                            severity="warning")

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.app.push_screen(
            ReasonModal("Mark the item failed", "What went wrong? (required; goes into the log)",
                        body=self.ctx.display(item.text), ok_label="Mark failed"),
            done,
        )

    def action_skip_section(self) -> None:
        """S: skip every open item of the highlighted item's section with one reason."""
        item = self.current_item
        if item is None:
            return
        phase = self.checklist.phase_of(item)
        section = next(s for s in phase.sections if item in s.items)
        targets = open_items_of(section, self.state)
        title = section.title or phase.title
        if not targets:
            self.notify(f"Nothing to skip in {title}: every item is done, skipped or running.",
                        severity="warning")
            return
        listed = "\n".join(f"  {i.qid}  {self.ctx.display(i.text)}" for i in targets[:8])
        if len(targets) > 8:
            listed += f"\n  ... and {len(targets) - 8} more"

        def done(reason: str | None) -> None:
            if not reason:
                return
            self.enter_phase(phase)
            for target in targets:
                if not self.record("skip", item=target.qid, reason=reason):
                    return  # refused (it said why): do not pretend the rest were skipped
            self.notify(f"Skipped {len(targets)} item(s) of {title}.")
            self._move_to_next_pending(targets[-1].qid)

        from rsdeploy_tui.ui.screens.modals import ReasonModal
        self.app.push_screen(
            ReasonModal(f"Skip the section {title}",
                        f"Why are these {len(targets)} items skipped? (required, recorded "
                        "for each)",
                        body=listed, ok_label=f"Skip {len(targets)}",
                        choices=skip_reasons(self.session)),
            done,
        )

    def action_finish(self) -> None:
        """E: finish the session here (as ``rsdeploy-tui finish``), after saying what is open."""
        body = outstanding_text(self.checklist, self.state, self.ctx.display)
        if self.running_work():
            body += ("\n\nCommands or checks are running: a finished session records nothing "
                     "more, so their results would be lost.")
        body += "\n\nFinishing closes the session for good (it can still be viewed)."

        def done(yes: bool | None) -> None:
            if yes and self.record("session_finished"):
                done_, total, critical = view.overall_counts(self.checklist, self.state)
                self.app.exit(self.session.id, message=(
                    f"Session {self.session.id} finished: {done_}/{total} done or skipped, "
                    f"{critical} critical pending."))

        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.app.push_screen(
            ConfirmModal("Finish the deployment session?", body, yes="Finish", no="Not yet"),
            done,
        )
