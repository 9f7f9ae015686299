"""Stakeholder messages: the checklist's three templates and the during-deployment updates.

Filled from session facts and vars: date/time, sprint, features (the changes list), known issues
(notes), expected downtime, contact. What we cannot know stays as the template's placeholder for
the operator to type in the Communication tab.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.records import datarecord
from rsdeploy_tui.reports.facts import (
    Clock,
    DeploymentFacts,
    _text_list,
    gather,
    parse_time,
    show_time,
    utc_clock,
)
from rsdeploy_tui.reports.placeholders import expand_vars, fill, sprint_text
from rsdeploy_tui.reports.redaction import scrubber

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

DEFAULT_TEMPLATES: dict[str, tuple[str, str, str]] = {
    "pre_deployment": (
        "Pre-deployment notice",
        "Scheduled Production Deployment - [Date/Time]",
        "Team,\n\nWe will be deploying Sprint X updates to production on [Date] at [Time].\n\n"
        "Expected downtime: [X minutes]\nNew features: [List key features]\n"
        "Known issues: [List if any]\n\nPlease avoid making changes during this window.\n\n"
        "Contact [Name] with questions.\n",
    ),
    "post_deployment": (
        "Deployment complete",
        "Production Deployment Complete - [Date/Time]",
        "Team,\n\nSprint X deployment completed successfully at [Time].\n\n"
        "✅ All systems operational\n✅ New features live\n✅ No data loss\n\n"
        "New features available:\n- [Feature 1]\n- [Feature 2]\n- [Feature 3]\n\n"
        "Please report any issues to [Contact].\n\nDocumentation: [Link to docs]\n",
    ),
    "rollback": (
        "Rollback notice",
        "URGENT - Production Rollback Completed",
        "Team,\n\nWe experienced issues with today's deployment and have rolled back to the "
        "previous version.\n\nCurrent status: All systems restored to pre-deployment state\n"
        "Issue: [Brief description]\nNext steps: [Plan to address and re-deploy]\n\n"
        "All data has been preserved. No action required from users.\n\n"
        "We will provide updates as we work on the fix.\n",
    ),
}
"""The reference document's templates, used when a checklist does not define its own."""

MESSAGE_IDS = ("pre_deployment", "status_in_progress", "status_issue", "status_eta",
               "post_deployment", "rollback")
"""Order shown in the Communication tab: before, during, after, rollback."""


@datarecord(frozen=True)
class Message:
    """One stakeholder message, filled and redacted, ready to edit."""

    id: str
    """``pre_deployment`` | ``status_in_progress`` | ``status_issue`` | ``status_eta`` |
    ``post_deployment`` | ``rollback``."""
    title: str
    """What it is, as listed in the Communication tab."""
    subject: str
    body: str
    unfit: str = ""
    """Why the message does not fit what happened (empty: ready to send). The Communication tab
    shows it and asks for a typed confirmation before copying, saving or posting."""

    @property
    def ready(self) -> bool:
        """Fits the session as it stands: offered as ready to send."""
        return not self.unfit

    def text(self) -> str:
        """Subject and body as one text (what is copied, saved and posted)."""
        return f"Subject: {self.subject}\n\n{self.body}" if self.subject else self.body


def _features(facts: DeploymentFacts) -> list[str]:
    """Changes as stakeholders read them: git's short hash dropped."""
    out = []
    for line in facts.changes.items:
        head, _, rest = line.partition(" ")
        is_hash = facts.changes.source == "git" and rest and all(
            c in "0123456789abcdef" for c in head)
        out.append(rest if is_hash else line)
    return out


KNOWN_ISSUES_SHOWN = 5
"""Issues a stakeholder message lists by name; the rest are counted (the log has them all)."""


_KNOWN = re.compile(r"known[ -_]issue", re.IGNORECASE)
_CODE = re.compile(r"\s*\(?`[^`]*`\)?")


def _plain(text: str) -> str:
    """An item's text for stakeholders: inline commands (`...`) left out, one line."""
    return " ".join(_CODE.sub("", text).split()).rstrip(" :;,.") or text.strip()


def _known_issues(checklist: Checklist, facts: DeploymentFacts) -> list[str]:
    """Documented known issues, then failed or skipped CRITICAL items, a sentence each.

    Never raw error bodies, check summaries, notes (they are for the log) or commands: a
    stakeholder reads what is wrong, the deployment log says how it was seen.
    """
    documented = _text_list(facts.vars.get("known_issues") or facts.facts.get("known_issues"))
    for item in checklist.iter_items():
        # The notes of the "Known issues documented" item are the documented known issues.
        record = facts.state.items.get(item.qid) if facts.state is not None else None
        if record is not None and _KNOWN.search(f"{item.id} {item.text}"):
            documented += [note.text for note in record.notes]
    issues = [" ".join(line.split()).rstrip(".") + "." for line in documented if line.strip()]
    for item in checklist.iter_items():
        record = facts.state.items.get(item.qid) if facts.state is not None else None
        if record is None or not item.critical:
            continue
        text = _plain(expand_vars(item.text, facts.vars))
        if record.state == "failed" or getattr(record, "failing", False):
            issues.append(f"{text}: failed.")
        elif record.state == "skipped":
            issues.append(f"{text}: skipped.")
    if len(issues) > KNOWN_ISSUES_SHOWN:
        more = len(issues) - KNOWN_ISSUES_SHOWN
        issues = [*issues[:KNOWN_ISSUES_SHOWN], f"and {more} more (see the deployment log)"]
    return issues


def _unfit(template_id: str, facts: DeploymentFacts) -> str:
    """Why a message does not fit what happened ("" when it does)."""
    rollback = facts.rollback
    if template_id == "post_deployment" and rollback:
        reason = rollback.get("reason") or "no reason given"
        return (f"A rollback was started at {show_time(parse_time(rollback.get('at')))} "
                f"({reason}): this message says the deployment completed successfully with no "
                "data loss. Send the rollback message instead.")
    return ""


def _expected_downtime(facts: DeploymentFacts) -> str | None:
    planned = facts.vars.get("expected_downtime")
    if planned:
        return f"{planned} minutes" if planned.strip().isdigit() else planned
    minutes = facts.downtime.minutes
    if minutes is not None:
        return f"{minutes} minutes"
    return None


def _values(checklist: Checklist, facts: DeploymentFacts,
            template_id: str) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    now = facts.now
    when = now
    if template_id == "pre_deployment":
        when = facts.started or now
    elif template_id == "post_deployment":
        when = facts.ended or now
    features = _features(facts)
    issues = _known_issues(checklist, facts)
    contact = facts.vars.get("contact") or (facts.operators[0] if facts.operators else None)
    rollback = facts.rollback or {}
    description = rollback.get("reason")
    if description and rollback.get("trigger_text"):
        description = f"{description} ({rollback['trigger_text']})"
    values: dict[str, str | None] = {
        "date/time": show_time(when),
        "date": show_time(when)[:10],
        "time": show_time(when, with_date=False),
        "x minutes": _expected_downtime(facts),
        "list key features": "; ".join(features) if features else None,
        "list if any": "; ".join(issues) if issues else "None known",
        "name": contact,
        "contact": contact,
        "link to docs": facts.vars.get("docs_url") or None,
        "brief description": description,
        "plan to address and re-deploy": facts.vars.get("next_steps") or None,
    }
    return values, {"feature": features}


def _status_updates(facts: DeploymentFacts, phase_titles: Mapping[str, str]) -> list[Message]:
    version = facts.version or "the new version"
    sprint = sprint_text(facts.sprint)
    what = f"{version} ({sprint})" if sprint else version
    where = f" to {facts.environment}" if facts.environment else ""
    done, total, _ = facts.progress
    phase = phase_titles.get(facts.current_phase or "", facts.current_phase or "not started")
    downtime = _expected_downtime(facts) or facts.downtime.describe(facts.now, facts.ended)
    started = show_time(facts.started)

    progress = Message(
        "status_in_progress", "Status: deployment in progress",
        f"Deployment in progress - {version}",
        f"Team,\n\nDeployment in progress: {what}{where}.\n\nStarted: {started}\n"
        f"Current phase: {phase}\nProgress: {done} of {total} checklist items done\n"
        f"Downtime: {downtime}\n\nPlease avoid making changes until we confirm completion.\n",
    )
    problems = [i for i in facts.issues if i.kind in ("failed", "cancelled", "note")]
    if facts.rollback:
        headline = f"Rolling back: {facts.rollback.get('reason') or 'reason not given'}"
    elif any(i.kind == "failed" for i in problems):
        headline = "We hit an issue and are working on it."
    else:
        headline = "No issues so far."
    # Sentences, as in the known issues: no inline commands (`...`), five named, the rest counted
    named = [_plain(i.text) for i in problems]
    if len(named) > KNOWN_ISSUES_SHOWN:
        more = len(named) - KNOWN_ISSUES_SHOWN
        named = [*named[:KNOWN_ISSUES_SHOWN], f"and {more} more (see the deployment log)"]
    lines = "\n".join(f"- {line}" for line in named) or "- None"
    issue = Message(
        "status_issue", "Status: issue update", f"Deployment update - {version}",
        f"Team,\n\nUpdate on the deployment of {what}{where} ({show_time(facts.now)}):\n"
        f"{headline}\n\nIssues:\n{lines}\n\nWe will post another update shortly.\n",
    )
    eta_text = facts.vars.get("eta")
    if not eta_text:
        eta_text = _projected_eta(facts) or "[ETA]"
    eta = Message(
        "status_eta", "Status: ETA for completion", f"Deployment ETA - {version}",
        f"Team,\n\nThe deployment of {what}{where} is {done} of {total} items through "
        f"(phase: {phase}).\nEstimated completion: {eta_text}\n\n"
        f"We will confirm when it is complete.\n",
    )
    return [progress, issue, eta]


def _projected_eta(facts: DeploymentFacts) -> str | None:
    """Now plus the time per item so far times the items left; None before any progress."""
    done, total, _ = facts.progress
    if facts.started is None or done == 0 or done >= total:
        return None
    elapsed = facts.now - facts.started
    left = elapsed / done * (total - done)
    return f"{show_time(facts.now + timedelta(seconds=left.total_seconds()))} (projected)"


def messages_from_facts(checklist: Checklist, facts: DeploymentFacts) -> list[Message]:
    """All messages in ``MESSAGE_IDS`` order, not redacted."""
    filled: dict[str, Message] = {}
    for template_id, (title, subject, body) in DEFAULT_TEMPLATES.items():
        template = checklist.templates.get(template_id)
        if template is not None:
            title, subject, body = template.title or title, template.subject, template.body
        values, lists = _values(checklist, facts, template_id)
        options: dict[str, Any] = {"sprint": facts.sprint, "version": facts.version,
                                   "vars": facts.vars}
        filled[template_id] = Message(template_id, title,
                                      fill(subject, values, **options),
                                      fill(body, values, lists, **options),
                                      _unfit(template_id, facts))
    titles = {p.id: p.title for p in checklist.phases}
    for message in _status_updates(facts, titles):
        filled[message.id] = message
    return [filled[i] for i in MESSAGE_IDS if i in filled]


def build_messages(
    checklist: Checklist,
    session: Any,
    *,
    clock: Clock = utc_clock,
    vars: Mapping[str, str] | None = None,
    git_dir: Path | None = None,
    use_git: bool = True,
) -> list[Message]:
    """The stakeholder messages for ``session``, filled and redacted."""
    facts = gather(checklist, session, clock=clock, vars=vars, git_dir=git_dir, use_git=use_git)
    clean = scrubber(session, checklist)
    return [Message(m.id, m.title, clean.text(m.subject), clean.text(m.body),
                    clean.text(m.unfit))
            for m in messages_from_facts(checklist, facts)]
