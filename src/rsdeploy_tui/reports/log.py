"""The deployment log as data: what ``--format json`` prints and what the Markdown renders.

``build_log`` returns plain dicts and lists (JSON-ready), already redacted through the session's
redactor. The keys are a contract for tools (``schema`` 1); add keys, never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.reports.facts import (
    NOT_RECORDED,
    Clock,
    DeploymentFacts,
    gather,
    utc_clock,
)
from rsdeploy_tui.reports.placeholders import expand_vars
from rsdeploy_tui.reports.redaction import scrubber

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item

SCHEMA = 1

# Post-deployment status lines: label, words that find the sections, (ok, bad) wording.
STATUS_LINES: tuple[tuple[str, tuple[str, ...], tuple[str, str]], ...] = (
    ("Health Check", ("health",), ("Pass", "Fail")),
    ("Core Functionality", ("core", "functionality", "portal", "admin", "critical feature"),
     ("Pass", "Fail")),
    ("Performance", ("performance",), ("Normal", "Degraded")),
    ("Monitoring", ("monitoring",), ("Active", "Not active")),
)


def _post_phase_ids(checklist: Checklist) -> list[str]:
    """Phases that hold post-deployment verification (all phases when none looks like it)."""
    found = [p.id for p in checklist.phases
             if p.id == "post" or any(word in p.title.lower()
                                      for word in ("post-deployment", "verification"))]
    return found or [p.id for p in checklist.phases]


def _status_items(checklist: Checklist, words: tuple[str, ...]) -> list[Item]:
    items: list[Item] = []
    for phase_id in _post_phase_ids(checklist):
        for section in checklist.phase(phase_id).sections:
            name = f"{section.id} {section.title}".lower().replace("-", " ")
            if any(word in name for word in words):
                items.extend(section.items)
    return items


def _state_of(state: Any, qid: str) -> str:
    """An item's state for the log: a done item whose latest check fails counts as failed."""
    record = state.items.get(qid)
    if record is None:
        return "pending"
    return "failed" if getattr(record, "failing", False) else str(record.state)


def _judge(items: list[Item], state: Any) -> tuple[str, int, int, int, int]:
    """(status, done, skipped, failed, total): status pass | fail | partial | none."""
    states = [_state_of(state, i.qid) for i in items]
    done, skipped, failed = (states.count(s) for s in ("done", "skipped", "failed"))
    if not items:
        return "none", 0, 0, 0, 0
    if failed:
        return "fail", done, skipped, failed, len(items)
    if done == len(items):
        return "pass", done, skipped, failed, len(items)
    return "partial", done, skipped, failed, len(items)


def status_lines(checklist: Checklist, state: Any) -> list[dict[str, Any]]:
    """Health check, core functionality, performance and monitoring, from item states."""
    lines = []
    for label, words, (ok, bad) in STATUS_LINES:
        items = _status_items(checklist, words)
        status, done, skipped, failed, total = _judge(items, state)
        if status == "pass":
            text = f"✅ {ok}"
        elif status == "fail":
            text = f"❌ {bad} ({failed} of {total} items failed)"
        elif status == "none":
            text = f"{NOT_RECORDED} (no items for it in the checklist)"
        else:
            extra = f", {skipped} skipped" if skipped else ""
            text = f"⏳ Not verified ({done} of {total} items done{extra})"
        lines.append({"name": label, "status": status, "text": text, "done": done,
                      "skipped": skipped, "failed": failed, "total": total,
                      "items": [i.qid for i in items]})
    return lines


def success_criteria(checklist: Checklist, state: Any,
                     in_progress: bool = False) -> list[dict[str, Any]]:
    """Each success criterion: met (all its items done), not met, or not verified (``met`` None:
    no items tied to it, or the deployment is still in progress and none of its items failed)."""
    out = []
    for criterion in checklist.success_criteria:
        states = {q: _state_of(state, q) for q in criterion.items}
        if not states:
            met, why = None, "not verified (no items tied to it)"
        elif all(s == "done" for s in states.values()):
            met, why = True, "met"
        elif in_progress and "failed" not in states.values():
            met, why = None, f"in progress: {_not_met(states)}"
        else:
            met, why = False, _not_met(states)
        out.append({"id": criterion.id, "text": criterion.text, "met": met, "detail": why,
                    "items": states})
    return out


def _not_met(states: dict[str, str]) -> str:
    """``2 of 5 items not done; failed: post.a; skipped: post.b`` (pending ones only counted)."""
    open_ = [q for q, s in states.items() if s != "done"]
    parts = [f"{len(open_)} of {len(states)} items not done"]
    for word in ("failed", "skipped", "running"):
        named = [q for q in open_ if states[q] == word]
        if named:
            parts.append(f"{word}: " + ", ".join(named))
    return "; ".join(parts)


def _evidence_summary(record: Any) -> str:
    """The check's verdict and the last command's exit code, for the appendix table."""
    parts = []
    check = record.check
    if check is not None:
        stale = " (stale: older than its last successful run)" if getattr(
            record, "check_stale", False) else ""
        parts.append(f"check {check.status}{stale}: {check.summary}".strip())
        if getattr(record, "failing", False):
            parts.append("done but now failing")
    if record.runs:
        run = record.runs[-1]
        if getattr(run, "cancelled", None):
            parts.append(f"command cancelled ({run.cancelled})")
        elif run.exit_code is None:
            parts.append("command running")
        else:
            parts.append(f"command exit {run.exit_code}{_failed_line(run)}")
    return "; ".join(parts)


def _failed_line(run: Any) -> str:
    """`` (line 1 of 2 failed: git checkout v1.4.0)`` for a run that stopped at a line."""
    failed = getattr(run, "failed", None)
    if not isinstance(failed, dict):
        return ""
    return f" (line {failed.get('step')} of {failed.get('of')} failed: {failed.get('text', '')})"


def _item_row(qid: str, record: Any, **known: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "qid": qid, **known,
        "state": record.state if record else "pending",
        "by": record.by if record else None, "at": record.at if record else None,
        "reason": record.reason if record else None,
        "evidence": _evidence_summary(record) if record else "",
        "check": None, "notes": [], "runs": [],
    }
    if record is not None:
        if record.check is not None:
            c = record.check
            row["check"] = {"status": c.status, "summary": c.summary, "at": c.at,
                            "duration_s": c.duration_s, "evidence": dict(c.evidence)}
        row["notes"] = [{"text": n.text, "by": n.by, "at": n.at} for n in record.notes]
        row["runs"] = [{"run": r.run, "command": r.command, "started": r.started,
                        "finished": r.finished, "exit_code": r.exit_code,
                        "duration_s": getattr(r, "duration_s", None),
                        "cancelled": getattr(r, "cancelled", None),
                        # Only for a run that stopped at a failing line (schema 1: keys added).
                        **({"failed": r.failed} if getattr(r, "failed", None) else {})}
                       for r in record.runs]
    return row


def _appendix_items(checklist: Checklist, state: Any,
                    values: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every checklist item, then items the session recorded that the checklist no longer has
    (it was edited since): proof of work must not lose a tick."""
    rows = [_item_row(item.qid, state.items.get(item.qid), phase=item.phase_id,
                      section=item.section_id, text=expand_vars(item.text, values),
                      critical=item.critical, in_checklist=True)
            for item in checklist.iter_items()]
    known = {item.qid for item in checklist.iter_items()}
    for qid, record in state.items.items():
        if qid not in known and (record.by or record.runs or record.notes or record.check):
            rows.append(_item_row(qid, record, phase=None, section=None, text="",
                                  critical=False, in_checklist=False))
    return rows


def _rollback_steps(checklist: Checklist, state: Any, required: bool) -> dict[str, Any]:
    """How far the Rollback phase got (only when a rollback was started)."""
    if not required:
        return {}
    items = [i for p in checklist.phases if "rollback" in (p.id, p.title.lower())
             for i in p.items]
    states = [state.items[i.qid].state if i.qid in state.items else "pending" for i in items]
    return {"steps_total": len(items), "steps_done": states.count("done"),
            "steps_skipped": states.count("skipped"), "steps_failed": states.count("failed")}


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def log_from_facts(checklist: Checklist, facts: DeploymentFacts) -> dict[str, Any]:
    """The log dict from gathered facts (not redacted; ``build_log`` redacts)."""
    state = facts.state
    notifications = [value for name, value in sorted(facts.facts.items())
                     if name.startswith("notification") and isinstance(value, dict)]
    return {
        "schema": SCHEMA,
        "session": facts.session_id,
        "checklist": facts.checklist_name,
        "status": facts.status,
        "generated_at": _iso(facts.now),
        "version": facts.version,
        "previous_version": facts.previous_version,
        "sprint": facts.sprint,
        "environment": facts.environment,
        "deployed_by": facts.operators,
        "started_at": _iso(facts.started),
        "ended_at": _iso(facts.ended),
        "in_progress": facts.in_progress,
        "current_phase": facts.current_phase,
        "downtime": {"minutes": facts.downtime.minutes, "on": _iso(facts.downtime.on),
                     "off": _iso(facts.downtime.off),
                     "text": facts.downtime.describe(facts.now, facts.ended),
                     "windows": [{"on": _iso(on), "off": _iso(off)}
                                 for on, off in facts.downtime.windows]},
        "changes": {"source": facts.changes.source, "items": list(facts.changes.items),
                    "detail": facts.changes.detail, "since": facts.changes.since or None},
        "migrations": {"plan": facts.migration_plan, "runs": facts.migration_runs,
                       "ticked": facts.migration_ticks},
        "issues": [{"kind": i.kind, "item": i.item, "text": i.text, "by": i.by, "at": i.at}
                   for i in facts.issues],
        "notes": [{"text": n.text, "by": n.by, "at": n.at} for n in facts.session_notes],
        "rollback": {"required": facts.rollback is not None, **(facts.rollback or {}),
                     **_rollback_steps(checklist, state, facts.rollback is not None)},
        "backup_key": facts.backup_key,
        "post_deployment_status": status_lines(checklist, state),
        "success_criteria": success_criteria(checklist, state, facts.in_progress),
        "progress": {"done": facts.progress[0], "total": facts.progress[1],
                     "critical_pending": facts.progress[2]},
        "gate_overrides": [{"phase": phase, "reason": o.reason, "by": o.by, "at": o.at}
                           for phase, o in state.gate_overrides.items()],
        "notifications": notifications,
        "items": _appendix_items(checklist, state, facts.vars),
    }


def build_log(
    checklist: Checklist,
    session: Any,
    *,
    clock: Clock = utc_clock,
    vars: Mapping[str, str] | None = None,
    git_dir: Path | None = None,
    use_git: bool = True,
) -> dict[str, Any]:
    """The deployment log of ``session`` as JSON-ready data, redacted.

    Works for finished, half-done, abandoned and rolled-back sessions; missing facts read
    "not recorded" in the Markdown and ``null`` here.
    """
    from rsdeploy_tui.reports.conflicts import conflict_entries, conflict_issues

    facts = gather(checklist, session, clock=clock, vars=vars, git_dir=git_dir, use_git=use_git)
    clean = scrubber(session, checklist)
    log = log_from_facts(checklist, facts)
    # events set aside after a conflict between machines, and what was decided (#18)
    log["conflicts"] = conflict_entries(checklist, session)
    log["issues"].extend(conflict_issues(log["conflicts"]))
    return clean.value(log)  # type: ignore[no-any-return]
