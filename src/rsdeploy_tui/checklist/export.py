"""The loaded checklist as plain JSON-ready data (``rsdeploy-tui validate --json``)."""

from __future__ import annotations

from typing import Any

from rsdeploy_tui.checklist.model import Checklist, Item


def item_to_dict(item: Item) -> dict[str, Any]:
    """Every field of one item."""
    return {
        "id": item.id,
        "qid": item.qid,
        "text": item.text,
        "critical": item.critical,
        "help": item.help,
        "command": item.command,
        "confirm": item.confirm,
        "interactive": item.interactive,
        "tick_on_success": item.tick_on_success,
        "continue_on_error": item.continue_on_error,
        "check": {"type": item.check.type, **item.check.params} if item.check else None,
        "auto_tick": item.auto_tick,
        "action": {"type": item.action.type, **item.action.params} if item.action else None,
        "requires": list(item.requires),
        "rollback_trigger": item.rollback_trigger,
        "line": item.line,
    }


def checklist_to_dict(checklist: Checklist) -> dict[str, Any]:
    """The whole checklist: phases -> sections -> items, with vars, templates and criteria."""
    return {
        "name": checklist.name,
        "description": checklist.description,
        "path": str(checklist.path) if checklist.path else None,
        "sha256": checklist.sha256,
        "vars": dict(checklist.vars),
        "secrets": list(checklist.secrets),
        "phases": [
            {
                "id": phase.id,
                "title": phase.title,
                "help": phase.help,
                "gate": list(phase.gate),
                "sections": [
                    {
                        "id": section.id,
                        "title": section.title,
                        "help": section.help,
                        "items": [item_to_dict(item) for item in section.items],
                    }
                    for section in phase.sections
                ],
            }
            for phase in checklist.phases
        ],
        "templates": {
            tid: {"title": t.title, "subject": t.subject, "body": t.body}
            for tid, t in checklist.templates.items()
        },
        "rollback_triggers": [
            {"id": c.id, "text": c.text, "items": list(c.items)}
            for c in checklist.rollback_triggers
        ],
        "success_criteria": [
            {"id": c.id, "text": c.text, "items": list(c.items)} for c in checklist.success_criteria
        ],
    }


def counts(checklist: Checklist) -> dict[str, int]:
    """The figures ``validate`` prints."""
    items = checklist.items
    return {
        "phases": len(checklist.phases),
        "sections": sum(len(p.sections) for p in checklist.phases),
        "items": len(items),
        "critical": sum(1 for i in items if i.critical),
        "with_command": sum(1 for i in items if i.command or i.action),
        "with_check": sum(1 for i in items if i.check),
    }
