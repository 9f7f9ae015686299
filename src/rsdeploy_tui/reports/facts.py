"""What a session knows about a deployment, gathered once for the log and the messages.

Everything here is tolerant: a session that recorded nothing yet still yields a ``DeploymentFacts``
whose missing parts are ``None`` or empty, and the renderers say "not recorded".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.reports.changes import git_changes
from rsdeploy_tui.reports.downtime import Downtime, maintenance_windows
from rsdeploy_tui.reports.placeholders import expand_vars
from rsdeploy_tui.reports.timefmt import NOT_RECORDED, parse_time, show_time

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

Clock = Callable[[], datetime]
"""Returns the current time (aware, UTC); injected so tests and golden files are stable."""

__all__ = ["NOT_RECORDED", "Changes", "Clock", "DeploymentFacts", "Downtime", "Issue", "gather",
           "parse_time", "show_time", "utc_clock"]


def utc_clock() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@datarecord(frozen=True)
class Changes:
    """The changes deployed and where the list came from."""

    source: str
    """``git`` (log between tags), ``operator`` (entered in the session) or ``none``."""
    items: tuple[str, ...] = ()
    detail: str = ""
    """Why git was not used, when it was tried and failed."""
    since: str = ""
    """The tag or commit ``git log`` started from (source ``git``)."""


@datarecord(frozen=True)
class _Shown:
    qid: str
    text: str


@datarecord(frozen=True)
class Issue:
    """Something that went wrong or was left out."""

    kind: str
    """``failed`` | ``skipped`` | ``note`` | ``cancelled`` | ``deviation`` (done, now failing) |
    ``override`` (ticked over a failing check, migrations confirmed)."""
    item: str | None
    """Qualified item id (None for a session-level note)."""
    text: str
    """One line an operator reads."""
    by: str | None = None
    at: str | None = None


@datarecord
class DeploymentFacts:
    """A session's facts, ready for rendering (all strings still unredacted)."""

    session_id: str
    checklist_name: str
    status: str
    """``active`` | ``finished`` | ``abandoned``."""
    now: datetime
    version: str | None
    previous_version: str | None
    sprint: str | None
    environment: str | None
    operators: list[str]
    started: datetime | None
    ended: datetime | None
    current_phase: str | None
    downtime: Downtime
    changes: Changes
    migration_plan: list[str]
    migration_runs: list[dict[str, Any]]
    migration_ticks: list[dict[str, Any]]
    """Forward migrate items ticked done (the operator's word when no run was recorded)."""
    issues: list[Issue]
    session_notes: list[Issue]
    rollback: dict[str, Any] | None
    backup_key: str | None
    progress: tuple[int, int, int]
    state: Any = None
    """The session's derived ``SessionState`` (item states for the appendix)."""
    events: list[Any] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        """True while the session is neither finished nor abandoned."""
        return self.status == "active"


def _text_list(value: Any) -> list[str]:
    """A fact that is a list of lines, or one multi-line string, as a list of non-empty lines."""
    if value is None:
        return []
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, Sequence):
        return [str(entry).strip() for entry in value if str(entry).strip()]
    if isinstance(value, Mapping):
        return [f"{key}: {val}" for key, val in value.items()]
    return [str(value)]


def _first(*values: Any) -> str | None:
    for value in values:
        if value not in (None, "", [], {}):
            return str(value)
    return None


def _issues(checklist: Checklist, state: Any, values: Mapping[str, str]) -> list[Issue]:
    issues: list[Issue] = []
    for item_ in checklist.iter_items():
        record = state.items.get(item_.qid)
        if record is None:
            continue
        item = _Shown(item_.qid, expand_vars(item_.text, values))
        if record.state == "failed":
            issues.append(Issue("failed", item.qid, f"{item.text}: {_failure(record)}",
                                record.by, record.at))
        elif record.state == "skipped":
            reason = record.reason or "no reason given"
            issues.append(Issue("skipped", item.qid, f"{item.text}; reason: {reason}",
                                record.by, record.at))
        elif getattr(record, "failing", False) and record.check is not None:
            # done, but the latest check says otherwise: not green, a deviation of the deployment
            issues.append(Issue("deviation", item.qid,
                                f"{item.text}: done, but now failing: check "
                                f"{record.check.status}: {record.check.summary}",
                                None, record.check.at))
        if record.state == "done" and record.reason:
            # ticked over a check that had not passed: the override belongs in the proof of work
            issues.append(Issue("override", item.qid,
                                f"{item.text}: ticked although its check had not passed; "
                                f"reason: {record.reason}", record.by, record.at))
        for run in record.runs:
            if run.exit_code not in (0, None) and record.state != "failed":
                issues.append(Issue("failed", item.qid,
                                    f"{item.text}: `{run.command}` exited {run.exit_code}",
                                    None, run.finished))
            if getattr(run, "cancelled", None):
                issues.append(Issue("cancelled", item.qid,
                                    f"{item.text}: command cancelled ({run.cancelled})",
                                    None, run.finished))
        for note in record.notes:
            issues.append(Issue("note", item.qid, f"{item.text}: {note.text}", note.by, note.at))
    # in the order they happened (the journal's times sort as text); undated ones last
    return sorted(issues, key=lambda issue: (issue.at is None, issue.at or ""))


_MIGRATION_PURPOSES = {
    "destructive_migrations": "destructive migrations confirmed by typing their names",
    "migrations_unchecked": "migrations run without a migration check",
}


def _confirmations(checklist: Checklist, events: Sequence[Any],
                   values: Mapping[str, str]) -> list[Issue]:
    """The typed answers of the destructive-migration gate (ui/migration_gate.py)."""
    issues = []
    for event in events:
        if event.kind != "confirmation":
            continue
        what = _MIGRATION_PURPOSES.get(str(event.data.get("purpose")))
        if what is None:
            continue
        item = checklist.find_item(event.item) if event.item else None
        text = expand_vars(item.text, values) if item else str(event.item)
        names = ", ".join(str(n) for n in event.data.get("migrations") or [])
        detail = f" ({names})" if names else f"; reason: {event.data.get('reason') or '?'}"
        issues.append(Issue("override", event.item, f"{text}: {what}{detail}",
                            event.operator, event.at))
    return issues


def _failure(record: Any) -> str:
    """Why an item is failed: its check summary or the exit code of its last command."""
    if record.check is not None and record.check.status in ("fail", "error"):
        return f"check {record.check.status}: {record.check.summary}"
    for run in reversed(record.runs):
        if run.exit_code not in (0, None):
            return f"command exited {run.exit_code}"
    return "failed"


def _last_phase(checklist: Checklist, events: Sequence[Any]) -> str | None:
    """Phase of the item touched last, when no ``phase_entered`` event says it."""
    for event in reversed(events):
        if event.item:
            item = checklist.find_item(event.item)
            if item is not None:
                return item.phase_id
    return None


_MIGRATE = re.compile(r"\bmigrate\b(?![^\n]*--(?:plan|check)\b)")
_APPLIED = re.compile(r"^\s*(?P<verb>Applying|Unapplying) (?P<name>\S+?)\.\.\.\s*OK\b")


def _migration_runs(checklist: Checklist, state: Any) -> list[dict[str, Any]]:
    """Runs of ``manage.py migrate`` (not ``--plan``/``--check``) with the migrations their
    output says were applied or unapplied."""
    runs: list[dict[str, Any]] = []
    for item in checklist.iter_items():
        record = state.items.get(item.qid)
        if record is None:
            continue
        for run in record.runs:
            if not _MIGRATE.search(run.command):
                continue
            applied: list[str] = []
            unapplied: list[str] = []
            for line in run.tail or []:
                found = _APPLIED.match(str(line))
                if found:
                    (applied if found["verb"] == "Applying" else unapplied).append(found["name"])
            runs.append({"item": item.qid, "command": run.command,
                         "exit_code": run.exit_code, "finished": run.finished,
                         "applied": applied, "unapplied": unapplied,
                         "rollback": _is_rollback(checklist, item)})
    return runs


def _is_rollback(checklist: Checklist, item: Any) -> bool:
    """True for an item of the Rollback phase (its migrate runs go backwards)."""
    phase = checklist.phase(item.phase_id)
    return "rollback" in (phase.id, phase.title.lower())


def _migration_ticks(checklist: Checklist, state: Any,
                     values: Mapping[str, str]) -> list[dict[str, Any]]:
    """Forward migrate items ticked done: on the instance (``eb ssh``) the run is not recorded
    here, and the tick is the operator's word that the migrations ran."""
    ticks = []
    for item in checklist.iter_items():
        record = state.items.get(item.qid)
        if (record is not None and record.state == "done" and item.command
                and _MIGRATE.search(item.command) and not _is_rollback(checklist, item)):
            ticks.append({"item": item.qid, "text": expand_vars(item.text, values),
                          "by": record.by, "at": record.at})
    return ticks


def _migration_plan(facts: Mapping[str, Any], state: Any) -> list[str]:
    """Fact ``migration_plan``, else the pending migrations a ``migrations`` check recorded
    (its evidence has ``pending`` and ``operations``), latest check first."""
    planned = _text_list(facts.get("migration_plan"))
    if planned:
        return planned
    checks = [r.check for r in state.items.values() if r.check is not None
              and isinstance(r.check.evidence.get("pending"), list)
              and "operations" in r.check.evidence]
    if not checks:
        return []
    latest = max(checks, key=lambda c: str(c.at or ""))
    return _text_list(latest.evidence["pending"])


def gather(
    checklist: Checklist,
    session: Any,
    *,
    clock: Clock = utc_clock,
    vars: Mapping[str, str] | None = None,
    git_dir: Path | None = None,
    use_git: bool = True,
) -> DeploymentFacts:
    """Collect what the session says about the deployment.

    Args:
        checklist: The checklist the session runs.
        session: An open ``Session`` (read-only is fine).
        clock: The current time, for "so far" figures and unfinished sessions.
        vars: Resolved vars; default: those recorded when the session was created.
        git_dir: Repository for ``git log``; default: var ``app_dir``, else the working directory.
        use_git: False to never run git (the operator's list is used).
    """
    events = list(getattr(session, "events", []) or [])
    state = session.state(checklist)
    created = next((e for e in events if e.kind == "session_created"), None)
    recorded_vars = dict(created.data.get("vars") or {}) if created else {}
    values = {**recorded_vars, **dict(vars or {})}
    facts = dict(state.facts)

    operators: list[str] = []
    for event in events:
        if event.kind in ("session_created", "tick", "untick", "skip", "command_started",
                          "gate_override", "rollback_started") and event.operator not in operators:
            operators.append(event.operator)
    meta_operator = getattr(getattr(session, "meta", None), "operator", None)
    if not operators and meta_operator:
        operators.append(str(meta_operator))

    closing = next((e for e in reversed(events)
                    if e.kind in ("session_finished", "session_abandoned")), None)
    version = _first(facts.get("deployed_tag"), facts.get("version"), values.get("version"))
    previous = _first(facts.get("previous_version"), facts.get("previous_tag"),
                      values.get("previous_version"), values.get("previous_tag"))

    changes = Changes("none")
    operator_changes = _text_list(facts.get("changes"))
    # git wants a tag or commit: var/fact previous_tag first; previous_version is often an EB
    # version label (capture_version), which is a git ref only when deployed with --label TAG
    since = [str(c) for c in dict.fromkeys((facts.get("previous_tag"), values.get("previous_tag"),
                                            previous)) if c]
    if use_git and version and since:
        where = git_dir or Path(values.get("app_dir") or ".")
        for candidate in since:
            lines, problem = git_changes(where, candidate, version)
            if lines is not None:
                changes = Changes("git", tuple(lines), since=candidate)
                break
            changes = Changes("none", (), problem)
    if changes.source != "git" and operator_changes:
        changes = Changes("operator", tuple(operator_changes), changes.detail)

    rollback = None
    if state.rollback is not None:
        trigger = state.rollback.trigger
        criterion = checklist.trigger(trigger) if trigger else None
        rollback = {"reason": state.rollback.reason, "trigger": trigger,
                    "trigger_text": criterion.text if criterion else None,
                    "at": state.rollback.at}

    session_notes = [Issue("note", None, str(e.data.get("text", "")), e.operator, e.at)
                     for e in events if e.kind == "note" and e.item is None]

    return DeploymentFacts(
        session_id=str(getattr(session, "id", "")),
        checklist_name=checklist.name,
        status=state.status,
        now=clock(),
        version=version,
        previous_version=previous,
        sprint=_first(values.get("sprint"), facts.get("sprint")),
        environment=_first(values.get("eb_env")),
        operators=operators,
        started=parse_time(created.at) if created else (parse_time(events[0].at) if events
                                                          else None),
        ended=parse_time(closing.at) if closing else None,
        current_phase=state.current_phase or _last_phase(checklist, events),
        downtime=maintenance_windows(events),
        changes=changes,
        migration_plan=_migration_plan(facts, state),
        migration_runs=_migration_runs(checklist, state),
        migration_ticks=_migration_ticks(checklist, state, values),
        issues=sorted([*_issues(checklist, state, values),
                       *_confirmations(checklist, events, values)],
                      key=lambda issue: (issue.at is None, issue.at or "")),
        session_notes=session_notes,
        rollback=rollback,
        backup_key=_first(facts.get("backup_key")),
        progress=state.counts(checklist),
        state=state,
        events=events,
        vars=values,
        facts=facts,
    )
