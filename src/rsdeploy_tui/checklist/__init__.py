"""The checklist as data: model, YAML loading and validation, ${var} expansion, Markdown import.

No Textual here; every other layer reads checklists through this package.
"""

from rsdeploy_tui.checklist.loader import ChecklistError, Problem, load_checklist
from rsdeploy_tui.checklist.model import (
    Action,
    Check,
    Checklist,
    Criterion,
    Item,
    Phase,
    Section,
    Template,
)

__all__ = [
    "Action",
    "Check",
    "Checklist",
    "ChecklistError",
    "Criterion",
    "Item",
    "Phase",
    "Problem",
    "Section",
    "Template",
    "load_checklist",
]
