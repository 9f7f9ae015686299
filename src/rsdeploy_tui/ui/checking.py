"""Automated checks from the runbook: run them in workers, record results, tick, raise rollbacks.

The runbook screen owns one ``CheckController`` and delegates ``c`` (check the item), ``a``
(every check of the phase), ``T`` (tick the items whose check passed), ``escape`` (cancel running
checks), ``R`` (rollback) and the Post-Deployment offer to it. Checks run in async workers of
the group ``checks``, one worker per item, at most ``concurrency`` at once (one semaphore shared by
every batch). Each worker hands its check to the check process (``checks/process.py``) and
awaits the result: the checks' own work (TLS, parsing responses, botocore) runs there, never
between the operator's keys; the process imports what a phase's checks need when the phase is
shown.

Results are recorded through ``RunbookScreen.record`` (durable first, then the screen re-renders
from the session). Which items are being checked right now is a transient UI state kept here
(``in_flight``), never an event.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding
from textual.css.query import NoMatches

from rsdeploy_tui.checklist.model import ROLLBACK_PHASE
from rsdeploy_tui.checks import DEFAULT_CONCURRENCY
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.ui.check_outcomes import CheckOutcomes

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item, Phase
    from rsdeploy_tui.checks.process import CheckProcess
    from rsdeploy_tui.checks.registry import CheckContext, CheckResult
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen

POST_PHASE = "post"
"""Entering this phase for the first time in a session offers to run all its checks."""

BINDINGS = [
    Binding("A", "check_all_done", "All checks, done too", show=False,
            tooltip="Run every check of the phase, re-checking done items too"),
    Binding("T", "tick_passed", "Tick passed", show=False,
            tooltip="Tick the items whose check passed"),
    Binding("R", "rollback", "Rollback", show=False,
            tooltip="Start a rollback (reason) / go to the Rollback phase"),
    # After the runbook's escape (clear filter): when no filter is shown, escape falls through.
    Binding("escape", "cancel_checks", "Cancel checks", show=False,
            tooltip="Cancel the checks that are running"),
]
"""Keys the runbook adds to its own bindings for this controller."""

ACTIONS = frozenset({"check", "check_all", "check_all_done", "tick_passed", "rollback",
                     "cancel_checks"})
"""Runbook actions whose availability this controller decides."""

@datarecord
class Batch:
    """Checks started by one key press, for one summary when the last one ends."""

    label: str
    qids: set[str]
    counts: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    criteria: list[str] = field(default_factory=list)
    """Rollback criteria that fired in this batch (one notice at the end, not one per check)."""

    @property
    def finished(self) -> int:
        """Checks of the batch that ended (with a result or cancelled)."""
        return sum(self.counts.values()) + self.cancelled


class CheckController(CheckOutcomes):
    """Runs the runbook's checks and turns their results into events, ticks and rollbacks."""

    def __init__(self, screen: RunbookScreen, concurrency: int = DEFAULT_CONCURRENCY,
                 timeout: float | None = None) -> None:
        self.screen = screen
        self.checklist = screen.checklist
        self.session = screen.session
        self.concurrency = int(screen.ctx.services.get("check_concurrency", concurrency))
        self.timeout = screen.ctx.services.get("check_timeout", timeout)
        self.in_flight: set[str] = set()
        """Qids whose check is queued or running."""
        self.to_tick: list[str] = []
        """Qids whose check passed and that wait for ``T`` (auto_tick items are ticked at once)."""
        self._gate: asyncio.Semaphore | None = None
        self._workers: dict[str, Any] = {}
        self._warmed: set[str] = set()
        """Check types the check process was asked to import for."""
        from rsdeploy_tui.checks.process import CheckProcess

        self.process: CheckProcess = CheckProcess()
        """Where the checks run (started at the first check or warm-up; closed on unmount)."""
        self._offered_post = False

    # ---------------------------------------------------------------- queries
    @property
    def running_count(self) -> int:
        """Checks queued or running (the runbook asks before quitting when this is not 0)."""
        return len(self.in_flight)

    def check_action(self, action: str) -> bool | None:
        """Availability of the actions in ``ACTIONS`` (None greys the key out)."""
        read_only = self.session.read_only
        if action == "check":
            item = self.screen.current_item
            return None if read_only or item is None or item.check is None else True
        if action in ("check_all", "check_all_done"):
            phase = self.screen.current_phase
            if read_only or phase is None or not any(i.check for i in phase.items):
                return None
            return True
        if action == "tick_passed":
            return None if read_only or not self.to_tick else True
        if action == "rollback":
            return None if read_only else True
        if action == "cancel_checks":
            return True if self.in_flight else None
        return True

    def context(self) -> CheckContext:
        """What a check may read: vars, facts and earlier results (baselines) of the session."""
        from rsdeploy_tui.checks.registry import CheckContext

        state = self.screen.state
        return CheckContext(
            vars=dict(self.screen.ctx.values),
            facts=dict(state.facts),
            results={qid: s.check for qid, s in state.items.items() if s.check is not None},
            redact=self.session.redactor,
            timeout=self.timeout,
            environ=dict(os.environ),
            secrets=tuple(self.checklist.secrets),
        )

    # ---------------------------------------------------------------- starting
    def _with_values(self, items: list[Item]) -> list[Item]:
        """The items whose check params have every value; the others are refused, saying
        which value is missing and how to give it (a check with a blank would not prove it)."""
        from rsdeploy_tui.rollback import missing_hint
        from rsdeploy_tui.values import check_templates

        ready: list[Item] = []
        for item in items:
            lacking = self.screen.ctx.missing(*check_templates(item))
            if not lacking:
                ready.append(item)
                continue
            self.screen.notify(
                f"Not checked: {item.qid} needs "
                + "; ".join(missing_hint(name) for name in lacking),
                title="Missing values", severity="error", timeout=15)
        return ready

    def check_item(self, item: Item | None) -> None:
        """``c``: run the highlighted item's check."""
        if item is None or item.check is None:
            return
        if item.qid in self.in_flight:
            self.screen.notify("Its check is already running.")
            return
        self.start([item], f"Check of {item.qid}")

    def check_phase(self, phase: Phase | None, including_done: bool = False) -> None:
        """``a``: run the checks of the phase's open items; ``A`` (``including_done``) re-checks
        done and skipped items too (a 30-minute test suite must never re-run by accident)."""
        if phase is None:
            return
        items = [i for i in phase.items if i.check is not None and i.qid not in self.in_flight]
        state = self.screen.state
        left = [] if including_done else [
            i for i in items if state.item(i.qid).state in ("done", "skipped")]
        items = [i for i in items if i not in left]
        if not items:
            self.screen.notify(
                f"Every open check of this phase is already done or running; A re-checks the "
                f"{len(left)} done item(s) too." if left
                else "Every check of this phase is already running.")
            return
        label = f"Checks of {phase.title}"
        if left:
            label += f" ({len(left)} done item(s) not re-checked: A checks them too)"
        self.start(items, label)

    def recheck_after_run(self, item: Item) -> None:
        """The item's run or action just ended with exit 0: its check result (if any) is now
        stale, so check again at once (the result is what the list shows next)."""
        if item.check is None or self.session.read_only or item.qid in self.in_flight:
            return
        found = self.screen.state.items.get(item.qid)
        if found is None or found.check is None or not found.check_stale:
            return
        self.start([item], f"Check of {item.qid} after its run")

    def start(self, items: list[Item], label: str) -> None:
        """Start one worker per item; items whose baseline is in the batch wait for it."""
        if self.session.read_only:
            self.screen.notify("Read-only: check results would be recorded, so checks do not "
                               "run here. Use `rsdeploy-tui check` for a headless run.",
                               severity="warning")
            return
        items = self._with_values(items)
        if not items:
            return
        if self._gate is None:
            self._gate = asyncio.Semaphore(max(1, self.concurrency))
        ctx = self.context()
        batch = Batch(label, {i.qid for i in items})
        done = {i.qid: asyncio.Event() for i in items}
        by_id = {i.id: i.qid for i in items}
        self.warm(items)
        for item in items:
            ref = str(item.check.params.get("baseline", "")) if item.check else ""
            waits_for = done.get(ref) or done.get(by_id.get(ref, ""))
            self.in_flight.add(item.qid)
            self._paint(item)
            self._workers[item.qid] = self.screen.run_worker(
                self._check(item, ctx, batch, done[item.qid], waits_for),
                name=item.qid, group="checks", exit_on_error=False)
        self._refresh_detail()

    async def _check(self, item: Item, ctx: CheckContext, batch: Batch, done: asyncio.Event,
                     waits_for: asyncio.Event | None) -> None:
        """One item's check in its worker: wait, run under the shared bound, record."""
        from rsdeploy_tui.checks.registry import CheckResult

        result: CheckResult | None = None
        try:
            if waits_for is not None:
                await waits_for.wait()
            assert self._gate is not None and item.check is not None
            async with self._gate:
                result = await self.process.run(item.check.type, dict(item.check.params), ctx)
        except asyncio.CancelledError:
            batch.cancelled += 1
            raise
        except Exception as exc:  # a bug here must still be a result, never a crash
            from rsdeploy_tui.checks.reasons import describe_error

            result = CheckResult("error", describe_error(exc))
        finally:
            done.set()
            self.in_flight.discard(item.qid)
            self._workers.pop(item.qid, None)
            if result is None:
                self._paint(item)
                self._refresh_detail()
                self._batch_progress(batch)
        ctx.results[item.qid] = result
        await self._recorded(item, result, batch)
        batch.counts[result.status] = batch.counts.get(result.status, 0) + 1
        self._batch_progress(batch)

    def cancel(self) -> None:
        """``escape`` while checks run: cancel all of them, once the operator says yes (escape
        is also how one leaves the filter or a pane: out of habit it must not lose a run)."""
        count = len(self._workers)
        if not count:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_now()

        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.screen.app.push_screen(
            ConfirmModal("Cancel checks", f"Cancel the {count} check(s) still running? Nothing "
                         "is recorded for them.", yes="Cancel them", no="Keep running"),
            answered)

    def cancel_now(self) -> None:
        """Cancel every running check (nothing is recorded for them)."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        if workers:
            self.screen.notify(f"Cancelled {len(workers)} running check(s).", severity="warning")

    # ---------------------------------------------------------------- results
    async def _recorded(self, item: Item, result: CheckResult, batch: Batch) -> None:
        """Record a result, then tick, offer a tick, or raise the rollback banner."""
        screen = self.screen
        if not await screen.record_async("check_result", item=item.qid, **result.as_dict()):
            self._paint(item)
            return
        if (item.check is not None and item.check.type == "migrations"
                and result.evidence.get("plan")):
            # The deployment log and the rollback read the plan from this fact.
            await screen.record_async("fact", name="migration_plan",
                                      value=result.evidence["plan"])
        self._paint(item)
        if item.qid in self.to_tick:
            self.to_tick.remove(item.qid)
        if result.status == "pass":
            await self._passed(item)
        elif result.status == "fail" and item.rollback_trigger:
            self._triggered(item, result, batch)

    def _batch_progress(self, batch: Batch) -> None:
        if batch.finished < len(batch.qids):
            return
        counts = batch.counts
        parts = [f"{counts[s]} {word}" for s, word in
                 (("pass", "passed"), ("fail", "failed"), ("error", "error(s)"),
                  ("skipped", "skipped")) if counts.get(s)]
        if batch.cancelled:
            parts.append(f"{batch.cancelled} cancelled")
        bad = counts.get("fail", 0) + counts.get("error", 0)
        message = f"{batch.label}: " + ", ".join(parts or ["nothing ran"])
        offer = [q for q in self.to_tick if q in batch.qids]
        if offer:
            message += (f"\n{len(offer)} check(s) passed on items not ticked — press T to "
                        f"tick {'it' if len(offer) == 1 else 'them'}.")
        self.screen.notify(message, severity="error" if bad else "information",
                           timeout=10 if offer or bad else 5)
        if batch.criteria:
            self.screen.notify("\n".join(f"- {text}" for text in batch.criteria)
                               + "\nPress R for the Rollback phase.",
                               title="Rollback criteria met", severity="error", timeout=20)

    def warm(self, items: Iterable[Item]) -> None:
        """Have the check process import what these items' checks need (modules, libraries,
        AWS models, the TLS context), once per check type: asked when their phase is shown, so
        the first ``a`` does not wait for boto3 and httpx."""
        types = {i.check.type for i in items if i.check is not None} - self._warmed
        if not types:
            return
        self._warmed |= types
        future = asyncio.ensure_future(self.process.warm(
            types, self.screen.ctx.values.get("tls_ca_file", "")))
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

    def phase_shown(self, phase: Phase | None) -> None:
        """Entering the Post-Deployment phase the first time in the session offers its checks
        (any phase with checks starts importing what they need)."""
        if phase is not None and not self.session.read_only:
            self.warm(phase.items)
        if phase is None or phase.id != POST_PHASE or self._offered_post:
            return
        if self.session.read_only:
            return
        if any(e.kind == "phase_entered" and e.data.get("phase") == phase.id
               for e in self.session.events):
            return
        items = [i for i in phase.items if i.check is not None]
        if not items:
            return
        self._offered_post = True

        def answer(yes: bool | None) -> None:
            if self.screen.state.current_phase != phase.id:
                self.screen.record("phase_entered", phase=phase.id)
            if yes:
                self.check_phase(phase)

        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.screen.app.push_screen(
            ConfirmModal(f"{phase.title}",
                         f"Run the {len(items)} automated check(s) of {phase.title} now? "
                         "They run in the background; you can keep working.",
                         yes="Run checks", no="Not now"),
            answer)

    def decorate_detail(self, item: Item, text: Text) -> Text:
        """Add to the detail panel: a running check, and a rollback step's pre-filled command."""
        if item.qid in self.in_flight:
            text.append("\nCheck running… (escape cancels)\n", style="bold yellow")
        if item.phase_id == ROLLBACK_PHASE and (item.command or item.action):
            from rsdeploy_tui.rollback import rollback_plan

            step = next((s for s in rollback_plan(self.checklist, self.screen.state,
                                                  self.screen.ctx.values, resolved=True)
                         if s.qid == item.qid), None)
            if step is not None:
                # The Command above is already this session's (the same text r runs); say
                # whether it can run, and what to know first.
                text.append("\nPre-filled for this session\n", style="bold underline")
                if step.missing:
                    text.append("  Not ready — see the values not set above\n", style="bold red")
                elif item.action is not None:
                    from rsdeploy_tui.acts_on import acts_on

                    for line in acts_on(item, self.screen.state.facts, self.screen.ctx.values):
                        text.append(f"  {line}\n")
                    text.append("  ready: r runs it\n", style="green")
                elif step.command:
                    text.append("  ready: r runs it\n", style="green")
                for note in step.notes:
                    text.append(f"  ! {note}\n", style="yellow")
        return text

    def _refresh_detail(self) -> None:
        """Redraw the detail panel (its ``Check running…`` line follows ``in_flight``)."""
        try:
            self.screen._update_detail()
        except NoMatches:
            return  # the screen is being torn down

    def _paint(self, item: Item) -> None:
        """Redraw one list line: its check cell shows ``⟳`` while the check is in flight.

        In the cell, not as words after the text: a line that grows a row re-lays out the whole
        list and the screen, once per check that starts or lands (the detail panel says
        "Check running…")."""
        phase_pane = self.screen.built_pane_of(item)
        if phase_pane is None:
            return  # not built yet (it is painted when built), or the screen is being torn down
        phase_pane.item_list.show_item(item, self.screen.state)
