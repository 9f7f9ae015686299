"""The checklist as data: model, YAML loading and validation, ${var} expansion, Markdown import.

No Textual here; every other layer reads checklists through this package. The loader (and with it
PyYAML, ~10 ms to import) loads on first use, so code that only needs the model stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.loader import ChecklistError, Problem, load_checklist

_FROM_LOADER = ("ChecklistError", "Problem", "load_checklist")


def __getattr__(name: str) -> Any:
    if name in _FROM_LOADER:
        from rsdeploy_tui.checklist import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
