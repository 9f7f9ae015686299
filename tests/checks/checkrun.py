"""Running one check the way the app does: through ``run_check`` with a checklist item."""

from __future__ import annotations

from typing import Any

from rsdeploy_tui.checklist.model import Check, Item
from rsdeploy_tui.checks.registry import CheckContext, CheckResult, run_check


def item(type_name: str, item_id: str = "probe", phase: str = "post", **params: Any) -> Item:
    """A checklist item carrying a check."""
    return Item(id=item_id, phase_id=phase, section_id="s", text=item_id,
                check=Check(type=type_name, params=params))


async def run(type_name: str, ctx: CheckContext | None = None, **params: Any) -> CheckResult:
    """Run a check of ``type_name`` with ``params``."""
    return await run_check(item(type_name, **params), ctx or CheckContext())
