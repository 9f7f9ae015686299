"""The deployment log as Markdown: the checklist's template filled, then the appendix.

The template's header fields (``**Version**: ...``) and ``###`` sections are recognised by name and
filled from the log data; anything else in a team's own template is kept, with its placeholders
filled where we know the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.reports.facts import NOT_RECORDED, show_time
from rsdeploy_tui.reports.placeholders import fill, sprint_text

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist

DEFAULT_TEMPLATE = """\
## Deployment [Date]

**Version**: v1.X.X
**Sprint**: Sprint X
**Deployed By**: [Name]
**Deployment Time**: [Start] - [End]
**Downtime**: [X minutes]

### Changes Deployed
- [Feature/Fix 1]
- [Feature/Fix 2]
- [Bug fix 1]

### Migrations Run
- [App name]: [Migration number]

### Issues Encountered
- [None / List issues]

### Rollback Required
- [Yes/No]
- [Reason if yes]

### Post-Deployment Status
- Health Check: ✅ Pass
- Core Functionality: ✅ Pass
- Performance: ✅ Normal
- Monitoring: ✅ Active

### Notes
[Any additional notes or observations]
"""
"""The reference document's Deployment Log Template, used when a checklist has none."""

_FIELD = re.compile(r"^\*\*(?P<label>[^*]+)\*\*\s*:\s*(?P<value>.*)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*$")
_STATE_MARK = {"done": "✅ done", "skipped": "⏭ skipped", "failed": "❌ failed",
               "running": "⏳ running", "pending": "☐ pending"}


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    value = "" if text is None else str(text)
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    """Inline code that survives backticks inside the command."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _one_line(command: str) -> str:
    """A multi-line command for a table cell: comment-only lines dropped, lines joined the way
    the shell reads them (the JSON keeps the command exactly)."""
    lines = [line.strip() for line in command.splitlines()]
    kept = [line for line in lines if line and not line.startswith("#")]
    return "; ".join(kept) if kept else command.strip()


def _when(at: Any) -> str:
    return show_time(at) if at else ""


def _deployment_time(log: dict[str, Any]) -> str:
    start, end = log.get("started_at"), log.get("ended_at")
    if not start:
        return NOT_RECORDED
    if end:
        same_day = str(start)[:10] == str(end)[:10]
        return f"{show_time(start)} - {show_time(end, with_date=not same_day)}"
    as_of = show_time(log.get("generated_at"), with_date=False)
    return f"{show_time(start)} - in progress (as of {as_of})"


def _header_values(log: dict[str, Any]) -> dict[str, str]:
    version = log.get("version") or NOT_RECORDED
    if log.get("previous_version"):
        version = f"{version} (previous: {log['previous_version']})"
    return {
        "version": version,
        "sprint": sprint_text(log.get("sprint")) or NOT_RECORDED,
        "deployed by": ", ".join(log.get("deployed_by") or []) or NOT_RECORDED,
        "deployment time": _deployment_time(log),
        "downtime": log["downtime"]["text"],
        "environment": log.get("environment") or NOT_RECORDED,
    }


def _changes(log: dict[str, Any]) -> list[str]:
    changes = log["changes"]
    items = changes.get("items") or []
    if not items:
        why = f" ({changes['detail']})" if changes.get("detail") else ""
        return [f"- Not recorded: no git history between the tags and no changes entered{why}"]
    since = changes.get("since") or log.get("previous_version")
    source = {"git": f"_From `git log {since}..{log.get('version')}`._",
              "operator": "_As entered by the operator._"}.get(changes["source"], "")
    lines = [f"- {entry}" for entry in items]
    return [*lines, "", source] if source else lines


def _migration_name(name: str) -> str:
    """``repairs.0042_manager_assignment`` as the template writes it: ``repairs: 0042_...``."""
    app, dot, migration = name.partition(".")
    return f"{app}: {migration}" if dot and app and migration else name


def _plan_state(migrations: dict[str, Any]) -> str:
    """What became of the planned migrations: the last forward migrate run decides, else a
    ticked "Run migrations" item (run on the instance, output not recorded here)."""
    forward = [run for run in migrations["runs"] if not run.get("rollback")]
    if any(run.get("exit_code") == 0 for run in forward):
        return ""
    if forward:
        code = forward[-1].get("exit_code")
        return " (planned; migrate still running)" if code is None else \
            f" (planned; migrate exited {code})"
    return "" if migrations.get("ticked") else " (planned; migrate not run yet)"


def _migrations(log: dict[str, Any]) -> list[str]:
    migrations = log["migrations"]
    runs = migrations["runs"]
    applied = [name for run in runs if not run.get("rollback") for name in run.get("applied")
               or []]
    plan = migrations["plan"]
    state = _plan_state(migrations)
    lines = [f"- {_migration_name(name)}{'' if name in applied else state}" for name in plan]
    lines += [f"- {_migration_name(name)}" for name in applied if name not in plan]
    lines += [f"- {_migration_name(name)} (unapplied)"
              for run in runs for name in run.get("unapplied") or []]
    if not [run for run in runs if not run.get("rollback")]:
        lines += [f"- {tick['text']} (`{tick['item']}`) ticked done by {tick['by']}, "
                  f"{_when(tick['at'])} (its output is not recorded here)"
                  for tick in migrations.get("ticked") or []]
    for run in runs:
        exit_code = run.get("exit_code")
        result = "still running" if exit_code is None else f"exit {exit_code}"
        where = f"{run['item']}, rollback" if run.get("rollback") else run["item"]
        lines.append(f"- {_code(_one_line(run['command']))} ({where}): {result}")
    return lines or [f"- {NOT_RECORDED.capitalize()} (no migration plan or migrate run recorded)"]


def _issues(log: dict[str, Any]) -> list[str]:
    words = {"failed": "Failed", "skipped": "Skipped", "note": "Note",
             "cancelled": "Cancelled", "deviation": "Deviation", "override": "Override",
             "conflict": "Conflict"}
    lines = []
    for issue in log["issues"]:
        who = f" ({issue['by']}, {_when(issue['at'])})" if issue.get("by") else ""
        lines.append(f"- {words.get(issue['kind'], issue['kind'])}: {issue['text']}{who}")
    return lines or ["- None"]


def _rollback(log: dict[str, Any]) -> list[str]:
    rollback = log["rollback"]
    if not rollback.get("required"):
        return ["- No (so far: the deployment is in progress)" if log.get("in_progress")
                else "- No"]
    reason = rollback.get("reason") or "no reason given"
    lines = ["- Yes", f"- Reason: {reason}"]
    if rollback.get("trigger_text") or rollback.get("trigger"):
        lines.append(f"- Trigger: {rollback.get('trigger_text') or rollback.get('trigger')}")
    lines.append(f"- Started: {_when(rollback.get('at'))}")
    if rollback.get("steps_total"):
        extra = "".join(f", {rollback[f'steps_{word}']} {word}" for word in ("skipped", "failed")
                        if rollback.get(f"steps_{word}"))
        lines.append(f"- Rollback steps: {rollback.get('steps_done', 0)} of "
                     f"{rollback['steps_total']} done{extra}")
    return lines


def _status(log: dict[str, Any]) -> list[str]:
    return [f"- {line['name']}: {line['text']}" for line in log["post_deployment_status"]]


def _notes(log: dict[str, Any]) -> list[str]:
    lines = [f"- {n['text']} ({n['by']}, {_when(n['at'])})" for n in log["notes"]]
    for override in log["gate_overrides"]:
        lines.append(f"- Gate of phase `{override['phase']}` overridden by {override['by']}: "
                     f"{override['reason']}")
    for sent in log.get("notifications") or []:
        result = "posted" if sent.get("ok") else f"post failed ({sent.get('detail')})"
        lines.append(f"- Message `{sent.get('message')}` to {sent.get('host')}: {result}")
    if log.get("backup_key"):
        lines.append(f"- Pre-deployment backup: `{log['backup_key']}`")
    if log.get("status") == "abandoned":
        lines.append("- The session was abandoned before the checklist was complete.")
    progress = log["progress"]
    lines.append(f"- Checklist progress: {progress['done']} of {progress['total']} items done or "
                 f"skipped; {progress['critical_pending']} critical items open.")
    return lines


_SECTIONS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "changes deployed": _changes,
    "migrations run": _migrations,
    "issues encountered": _issues,
    "rollback required": _rollback,
    "post-deployment status": _status,
    "notes": _notes,
}


def _fill_template(template: str, log: dict[str, Any], vars: dict[str, str]) -> list[str]:
    header = _header_values(log)
    date = show_time(log.get("started_at") or log.get("generated_at"))[:10]
    values: dict[str, str | None] = {"date": date, "name": header["deployed by"]}
    out: list[str] = []
    skipping = False
    first_heading = True
    for line in template.splitlines():
        heading = _HEADING.match(line)
        if heading:
            skipping = False
            out.append(fill(line, values, vars=vars))
            title = heading.group("title").strip().lower()
            if first_heading:
                first_heading = False
                out.extend(["", _banner(log)])
            if title in _SECTIONS:
                out.extend(_SECTIONS[title](log))
                out.append("")
                skipping = True
            continue
        if skipping:
            continue
        field = _FIELD.match(line)
        if field and field.group("label").strip().lower() in header:
            # two spaces end the line in Markdown, so each field stays on its own line
            label = field.group("label")
            out.append(f"**{label}**: {header[label.strip().lower()]}  ")
            continue
        out.append(fill(line, values, sprint=log.get("sprint"), version=log.get("version"),
                        vars=vars))
    return out


def _banner(log: dict[str, Any]) -> str:
    status = log.get("status", "active")
    if log["rollback"].get("required"):
        status = f"{status}, rolled back"
    elif status == "active":
        status = "in progress"
    return (f"_Session `{log['session']}` of {log['checklist']} ({status}); "
            f"report generated {show_time(log.get('generated_at'))}._")


def _criteria(log: dict[str, Any]) -> list[str]:
    lines = ["### Success Criteria", ""]
    for criterion in log["success_criteria"]:
        mark = {True: "✅ met", False: "❌ not met", None: "❔ not verified"}[criterion["met"]]
        detail = "" if criterion["met"] is True else f" ({criterion['detail']})"
        lines.append(f"- {mark}: {criterion['text']}{detail}")
    if not log["success_criteria"]:
        lines.append("- The checklist lists no success criteria.")
    return [*lines, ""]


def _appendix(log: dict[str, Any], checklist: Checklist, item_table: bool) -> list[str]:
    lines = ["## Appendix: proof of work", ""]
    titles = {p.id: p.title for p in checklist.phases}
    by_phase: dict[str, list[dict[str, Any]]] = {}
    for row in log["items"]:
        by_phase.setdefault(row["phase"], []).append(row)
    lines.append("### Items")
    if not item_table:
        lines += ["", f"{len(log['items'])} items; the item-by-item table is in the saved log."]
        by_phase = {}
    for phase, rows in by_phase.items():
        title = titles.get(phase, phase) if phase else "Recorded items no longer in the checklist"
        lines += ["", f"#### {title}", "",
                  "| Item | State | By | When | Evidence |", "|---|---|---|---|---|"]
        for row in rows:
            text = f"{'**CRITICAL** ' if row['critical'] else ''}{row['text']}"
            evidence = row["evidence"]
            if row.get("reason"):
                evidence = f"reason: {row['reason']}" + (f"; {evidence}" if evidence else "")
            state = _STATE_MARK.get(row["state"], row["state"])
            label = f"{_cell(text)} (`{row['qid']}`)" if text else f"`{row['qid']}`"
            lines.append(f"| {label} | {state} "
                         f"| {_cell(row['by'])} | {_cell(_when(row['at']))} | {_cell(evidence)} |")
    lines += ["", "### Gate overrides", ""]
    if log["gate_overrides"]:
        lines += ["| Phase | By | When | Reason |", "|---|---|---|---|"]
        lines += [f"| {_cell(titles.get(o['phase'], o['phase']))} | {_cell(o['by'])} "
                  f"| {_cell(_when(o['at']))} | {_cell(o['reason'])} |"
                  for o in log["gate_overrides"]]
    else:
        lines.append("None.")
    lines += ["", "### Commands run", ""]
    runs = [(row, run) for row in log["items"] for run in row["runs"]]
    if runs:
        lines += ["| Item | Command | Exit code | Started | Finished |", "|---|---|---|---|---|"]
        for row, run in runs:
            code = run["exit_code"]
            if run.get("cancelled"):
                shown = f"cancelled ({run['cancelled']})"
            else:
                shown = "running" if code is None else str(code)
                failed = run.get("failed")
                if isinstance(failed, dict) and code is not None:
                    shown += (f" — line {failed.get('step')} of {failed.get('of')} failed: "
                              f"{failed.get('text', '')}")
            lines.append(f"| `{row['qid']}` | {_cell(_code(_one_line(run['command'])))} "
                         f"| {_cell(shown)} "
                         f"| {_cell(_when(run['started']))} | {_cell(_when(run['finished']))} |")
    else:
        lines.append("None.")
    return [*lines, "", *_conflicts(log)]


def _conflicts(log: dict[str, Any]) -> list[str]:
    """Events set aside after a conflict between machines: where, what, what was decided."""
    entries = log.get("conflicts") or []
    if not entries:
        return []
    lines = ["### Events set aside after a conflict between machines", ""]
    for entry in entries:
        where = f"`{entry['path']}`" if entry.get("path") else f"`{entry['file']}`"
        count = entry.get("events")
        lines.append(f"- {count if count is not None else 'Some'} events of "
                     f"{entry.get('host') or 'a machine'} set aside in {where}"
                     + (f" ({_when(entry['set_aside_at'])})" if entry.get("set_aside_at")
                        else "") + ":")
        lines += [f"  - {_cell(text)}" for text in entry.get("lines") or []]
        decision = entry.get("decision")
        again = entry.get("rerecorded") or []
        if decision == "rerecorded":
            lines.append(f"  - Decided by {entry.get('by')}, {_when(entry.get('at'))}: "
                         f"{len(again)} re-recorded on top of the shared journal; the rest stay "
                         "set aside in the file.")
        elif decision == "kept_store":
            lines.append(f"  - Decided by {entry.get('by')}, {_when(entry.get('at'))}: kept "
                         "the store's journal; the events stay set aside in the file.")
        else:
            lines.append("  - Not decided yet (`rsdeploy-tui conflicts`): the session opens "
                         "read-only until it is.")
        for row in again:
            lines.append(f"  - Re-recorded as event {row['seq']}: {_cell(row['text'])} "
                         f"(originally event {row.get('original_seq')} by "
                         f"{row.get('original_operator')}@{row.get('original_host')}, "
                         f"{_when(row.get('original_at'))})")
    return [*lines, ""]


def render_markdown(log: dict[str, Any], checklist: Checklist,
                    vars: dict[str, str] | None = None, *, item_table: bool = True) -> str:
    """The whole deployment log as Markdown (``log`` from ``build_log``, already redacted).

    ``vars`` fills ``${name}`` in a team's own template (display values only, never secrets).
    ``item_table`` False leaves out the per-item table (the TUI view: Textual's Markdown widget
    takes seconds to lay out 140 table rows); saved files always have it.
    """
    template = checklist.templates.get("deployment_log")
    body = template.body if template is not None and template.body.strip() else DEFAULT_TEMPLATE
    body = body.replace("```markdown", "").replace("```", "")
    lines = _fill_template(body, log, dict(vars or {}))
    while lines and not lines[-1].strip():
        lines.pop()
    lines += ["", *_criteria(log), *_appendix(log, checklist, item_table)]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
