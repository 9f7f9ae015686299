"""Derived state: what the events say about each item, the facts learned, and the session status.

Nothing here is stored; ``derive_state`` folds the journal every time (the journal is the truth).
Rule: the latest state-changing event wins (see ``docs/internals.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from typing import TYPE_CHECKING, Any, NamedTuple

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import Event

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

RESOLVED = frozenset({"done", "skipped"})
"""Item states that need nothing more from the operator (they count as done in progress)."""


class Note(NamedTuple):
    """A note typed by an operator."""

    text: str
    by: str
    at: str


class GateOverride(NamedTuple):
    """A phase gate opened on purpose, with the operator's reason."""

    reason: str
    by: str
    at: str


class Rollback(NamedTuple):
    """A rollback that was started."""

    reason: str
    trigger: str | None
    at: str


@datarecord
class CheckRecord:
    """The latest automated check result of an item."""

    status: str
    """pass | fail | error | skipped."""
    summary: str
    """One line saying what was found."""
    at: str
    """When the result was recorded."""
    duration_s: float | None = None
    """How long the check took."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """What the check saw (redacted)."""
    seq: int = 0
    """Journal position of the result (orders it against runs; times can tie)."""


@datarecord
class RunRecord:
    """One run of an item's command."""

    run: str
    """Run id (names the log file)."""
    command: str
    """The command as shown (secrets redacted)."""
    started: str
    """When it started."""
    pid: int | None = None
    """Process id of the detached command."""
    log: str | None = None
    """Log file path."""
    finished: str | None = None
    """When it ended (None while running)."""
    exit_code: int | None = None
    """Exit status (None while running or when cancelled)."""
    duration_s: float | None = None
    """How long it ran."""
    tail: list[str] = field(default_factory=list)
    """Last lines of output."""
    cancelled: str | None = None
    """Signal name when the operator cancelled it."""
    confirmed: str | None = None
    """Text the operator typed to confirm a destructive command."""
    failed: dict[str, Any] | None = None
    """The line the run stopped at: ``{step, of, line, text, exit_code}`` (fail-fast runs)."""
    finished_seq: int = 0
    """Journal position of its end (0 while running)."""
    host: str = ""
    """The machine that started it (its ``command_started`` event's host)."""


@datarecord
class ItemState:
    """What the events say about one item."""

    state: str = "pending"
    """pending | done | skipped | failed | running."""
    by: str | None = None
    """Operator of the latest state change."""
    at: str | None = None
    """Time of the latest state change."""
    reason: str | None = None
    """Skip reason (when skipped), or why it was ticked although its latest check did not pass."""
    notes: list[Note] = field(default_factory=list)
    """Notes in the order typed."""
    check: CheckRecord | None = None
    """Latest check result."""
    runs: list[RunRecord] = field(default_factory=list)
    """Command runs, oldest first."""
    _before_run: tuple[str, str | None, str | None, str | None] = ("pending", None, None, None)
    _open_runs: set[str] = field(default_factory=set)

    def _set(self, state: str, event: Event, reason: str | None = None) -> None:
        self.state, self.by, self.at, self.reason = state, event.operator, event.at, reason

    @property
    def last_success(self) -> RunRecord | None:
        """The latest run that ended with exit status 0 (the action a check re-proves)."""
        return next((r for r in reversed(self.runs) if r.exit_code == 0 and r.finished_seq),
                    None)

    @property
    def check_stale(self) -> bool:
        """The latest check result is older than the item's latest successful run.

        The run changed what the check looked at (a backup taken, a deploy done), so that
        result says nothing about now: it is shown as stale, never as current.
        """
        ok = self.last_success
        return self.check is not None and ok is not None and ok.finished_seq > self.check.seq

    @property
    def check_status(self) -> str | None:
        """The latest check's status as it stands now: pass|fail|error|skipped|stale|None."""
        if self.check is None:
            return None
        return "stale" if self.check_stale else self.check.status

    @property
    def failing(self) -> bool:
        """Done, but its latest (current) check failed or errored: not green."""
        return self.state == "done" and self.check_status in ("fail", "error")

    @property
    def resolved(self) -> bool:
        """Needs nothing more from the operator: done (and not failing) or skipped."""
        return self.state in RESOLVED and not self.failing


@datarecord
class SessionState:
    """Everything derived from a session's events."""

    items: dict[str, ItemState] = field(default_factory=dict)
    """Per qualified item id; with a checklist every item is present (pending by default)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Things learned on the way (previous EB version, backup key, deployed tag)."""
    status: str = "active"
    """active | finished | abandoned."""
    current_phase: str | None = None
    """Phase of the latest phase_entered event."""
    rollback: Rollback | None = None
    """The latest rollback started, if any."""
    gate_overrides: dict[str, GateOverride] = field(default_factory=dict)
    """Per phase id."""
    last_event: Event | None = None
    """The newest event (last activity)."""
    events: int = 0
    """How many events were folded."""

    def item(self, qid: str) -> ItemState:
        """The state of one item (pending when no event mentions it)."""
        return self.items.get(qid) or ItemState()

    def counts(self, checklist: Checklist) -> tuple[int, int, int]:
        """(done or skipped, total, critical items not yet done or skipped) over the checklist."""
        return self._count(checklist.iter_items())

    def phase_counts(self, checklist: Checklist, phase_id: str) -> tuple[int, int, int]:
        """Like ``counts`` for one phase."""
        return self._count(checklist.phase(phase_id).items)

    def _count(self, items: Iterable[Any]) -> tuple[int, int, int]:
        done = total = critical = 0
        for item in items:
            total += 1
            resolved = self.item(item.qid).resolved
            done += resolved
            critical += bool(item.critical and not resolved)
        return done, total, critical

    def count_ids(self, qids: Iterable[str], critical: Iterable[str]) -> tuple[int, int, int]:
        """``counts`` over recorded id lists (used when the checklist file is not at hand)."""
        ids = list(qids)
        done = sum(self.item(q).resolved for q in ids)
        pending = sum(not self.item(q).resolved for q in critical)
        return done, len(ids), pending

    def failing(self, qids: Iterable[str]) -> list[str]:
        """The items among ``qids`` that are done but whose latest check now fails."""
        return [q for q in qids if self.item(q).failing]


def _apply(state: SessionState, event: Event) -> None:
    data, kind = event.data, event.kind
    state.last_event = event
    state.events += 1
    if kind == "session_finished":
        state.status = "finished"
    elif kind == "session_abandoned":
        state.status = "abandoned"
    elif kind == "fact":
        state.facts[str(data.get("name"))] = data.get("value")
    elif kind == "phase_entered":
        state.current_phase = data.get("phase")
    elif kind == "gate_override":
        state.gate_overrides[str(data.get("phase"))] = GateOverride(
            str(data.get("reason", "")), event.operator, event.at)
    elif kind == "rollback_started":
        state.rollback = Rollback(str(data.get("reason", "")), data.get("trigger"), event.at)
    if event.item is None:
        return
    item = state.items.get(event.item)
    if item is None:
        item = state.items[event.item] = ItemState()
    _apply_item(item, event)


def _apply_item(item: ItemState, event: Event) -> None:
    data, kind = event.data, event.kind
    if kind == "tick":
        # A tick over a check that did not pass carries the operator's reason (like a gate
        # override); the UI asks for it.
        reason = data.get("reason")
        item._set("done", event, str(reason) if reason else None)
    elif kind == "untick":
        item._set("pending", event)
    elif kind == "skip":
        item._set("skipped", event, str(data.get("reason", "")))
    elif kind == "fail":  # the operator marked a (manual) item failed, with a reason
        item._set("failed", event, str(data.get("reason", "")))
    elif kind == "note":
        item.notes.append(Note(str(data.get("text", "")), event.operator, event.at))
    elif kind == "check_result":
        status = str(data.get("status", "error"))
        item.check = CheckRecord(status, str(data.get("summary", "")), event.at,
                                 data.get("duration_s"), dict(data.get("evidence") or {}),
                                 event.seq)
        if item.state == "running":
            # The run decides when it ends; the result still counts for the state it returns to.
            before = item._before_run[0]
            if status in ("fail", "error") and before not in RESOLVED:
                item._before_run = ("failed", event.operator, event.at, None)
            elif status == "pass" and before == "failed":
                item._before_run = ("pending", event.operator, event.at, None)
        elif status in ("fail", "error") and item.state not in RESOLVED:
            item._set("failed", event)
        elif status == "pass" and item.state == "failed":
            item._set("pending", event)
    elif kind == "command_started":
        started = RunRecord(str(data.get("run", "")), str(data.get("command", "")), event.at,
                            data.get("pid"), data.get("log"), confirmed=data.get("confirmed"),
                            host=event.host)
        item.runs.append(started)
        if not item._open_runs:
            # Who ticked it and when must survive the run (a cancel restores them as they were).
            item._before_run = (item.state, item.by, item.at, item.reason)
        item._open_runs.add(started.run)
        item._set("running", event)
    elif kind in ("command_finished", "run_cancelled"):
        run_id = str(data.get("run", ""))
        run = next((r for r in reversed(item.runs) if r.run == run_id), None)
        if run is not None:
            run.finished = event.at
            run.finished_seq = event.seq
            if kind == "command_finished":
                run.exit_code = data.get("exit_code")
                run.duration_s = data.get("duration_s")
                run.tail = list(data.get("tail") or [])
                failed = data.get("failed")
                run.failed = dict(failed) if isinstance(failed, dict) else None
            else:
                run.cancelled = str(data.get("signal", "")) or "cancelled"
        item._open_runs.discard(run_id)
        if item._open_runs or item.state != "running":
            return
        exit_code = data.get("exit_code") if kind == "command_finished" else None
        if exit_code not in (0, None):
            item._set("failed", event)
            return
        before, by, at, reason = item._before_run
        if exit_code == 0 and before == "failed":
            # The latest run decides: exit 0 clears the failure an earlier run (or a check now
            # stale) left; the failed run stays in ``runs``.
            item._set("pending", event)
            return
        # Cancelled, ended with no known status, or succeeded: back to what it was, with the
        # original who and when (a cancel never rewrites a tick).
        item.state, item.by, item.at, item.reason = before, by, at, reason


def derive_state(events: Iterable[Event], checklist: Checklist | None = None) -> SessionState:
    """Fold events into a ``SessionState``; with a checklist every item appears (pending)."""
    state = SessionState()
    for event in events:
        _apply(state, event)
    if checklist is not None:
        for item in checklist.iter_items():
            state.items.setdefault(item.qid, ItemState())
    return state
