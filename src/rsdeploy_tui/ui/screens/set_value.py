"""Set a value from inside the app (``v``): the item's missing values, or every var and its source.

A missing ``previous_tag`` in the middle of a rollback used to cost a quit and a relaunch with
``--set``. The dialog returns ``(name, value)``; the runbook records it as a ``value_set`` event
(who, when, old -> new), so it takes effect at once and survives every resume. Secret names are
refused in place: they come from the environment only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from rsdeploy_tui.ui.screens.dialog import Dialog
from rsdeploy_tui.ui.screens.typing import TypedInto

if TYPE_CHECKING:
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen


class ValueRow:
    """One name as the dialog lists it."""

    __slots__ = ("name", "value", "source")

    def __init__(self, name: str, value: str, source: str) -> None:
        self.name, self.value, self.source = name, value, source


class SetValueModal(TypedInto, Dialog["tuple[str, str] | None"]):
    """Dismisses with ``(name, value)`` once ``refuse(name)`` accepts the name; None on escape.

    Args:
        missing: ``(name, how to get it)`` for the highlighted item's values that are not set.
        rows: Every value (masked where secret) with its source, for "all values".
        refuse: ``name -> reason`` when the name cannot be set (a secret, unknown), else None.
        secrets: The checklist's secret names (listed as "environment only").
    """

    DEFAULT_CSS = """
    SetValueModal #values-list { height: auto; max-height: 14; margin: 1 0; }
    SetValueModal .set-value-label { margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("f2", "toggle_all", "All values"),
    ]

    def __init__(self, missing: Sequence[tuple[str, str]], rows: Sequence[ValueRow],
                 refuse: Callable[[str], str | None], secrets: Sequence[str] = ()) -> None:
        super().__init__(classes="modal")
        self.missing = list(missing)
        self.rows = list(rows)
        self.refuse = refuse
        self.secrets = list(secrets)
        self.show_all = not self.missing
        self.refused = 0

    def compose(self) -> ComposeResult:
        first = self.missing[0][0] if self.missing else ""
        with Vertical(classes="dialog", id="set-value"):
            yield Label("Set a value for this session", classes="dialog-title")
            with VerticalScroll(id="values-list"):
                yield Static(self._listing(), id="values-text")
            yield Label("Name", classes="set-value-label")
            yield Input(value=first, id="value-name")
            yield Label("Value (recorded in the session: who, when, old and new)",
                        classes="set-value-label")
            yield Input(value=self._current(first), id="value-value")
            yield Label("", id="value-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set", variant="primary", id="ok", compact=True)
                yield Button("All values (F2)", id="all", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#value-error", Label).display = False
        target = "#value-value" if self.missing else "#value-name"
        self.ready_to_type(self.query_one(target, Input))

    def _current(self, name: str) -> str:
        return next((r.value for r in self.rows if r.name == name), "")

    def _listing(self) -> Text | Table:
        if not self.show_all:
            out = Text("This item needs values that are not set:\n", style="bold")
            for name, how in self.missing:
                out.append(f"  {name}", style="bold red")
                out.append(f": {how}\n")
            out.append("F2 lists every value and where it comes from.", style="dim")
            return out
        table = Table(show_header=True, box=None, padding=(0, 1, 0, 0), expand=True)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold", ratio=3)
        table.add_column("from", style="dim", overflow="fold", ratio=2)
        for row in self.rows:
            value = Text(row.value) if row.value else Text("not set", style="red")
            table.add_row(row.name, value, row.source)
        for name in self.secrets:
            table.add_row(name, Text("****", style="dim"), "environment only (a secret)")
        return table

    def action_toggle_all(self) -> None:
        """Switch between the item's missing values and every value with its source."""
        if not self.missing:
            return
        self.show_all = not self.show_all
        self.query_one("#values-text", Static).update(self._listing())

    @on(Button.Pressed, "#all")
    def _all(self) -> None:
        self.action_toggle_all()

    @on(Input.Submitted, "#value-name")
    def _name_entered(self) -> None:
        name = self.query_one("#value-name", Input).value.strip()
        box = self.query_one("#value-value", Input)
        if name and not box.value:
            box.value = self._current(name)
        if self._refused(name):
            self.ready_to_type(self.query_one("#value-name", Input))
            return
        self.ready_to_type(box)

    @on(Input.Submitted, "#value-value")
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        name = self.query_one("#value-name", Input).value.strip()
        if self._refused(name):
            self.ready_to_type(self.query_one("#value-name", Input))
            return
        self.close_with((name, self.query_one("#value-value", Input).value))

    def _refused(self, name: str) -> bool:
        why = "Type the name of the value to set." if not name else self.refuse(name)
        error = self.query_one("#value-error", Label)
        if why:
            self.refused += 1
            error.update(f"Not set: {why}")
            error.display = True
            return True
        error.display = False
        return False

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without setting anything."""
        self.close_with(None)


def item_missing(screen: RunbookScreen) -> list[str]:
    """Names the runbook's highlighted item needs that have no value."""
    from rsdeploy_tui.values import item_templates

    item = screen.current_item
    if item is None:
        return []
    ctx, facts = screen.ctx, screen.state.facts
    return list(ctx.missing(*item_templates(item, facts, ctx.values)))


def open_set_value(screen: RunbookScreen) -> None:
    """``v`` on the runbook: ask, then record ``value_set`` through ``screen.record``."""
    from rsdeploy_tui.rollback import missing_hint
    from rsdeploy_tui.values import refuse_name, set_value

    ctx = screen.ctx
    checklist = ctx.checklist
    rows = []
    if ctx.resolution is not None:
        for name, src in sorted(ctx.resolution.sources.items()):
            where = src.source + (f": {src.detail}" if src.detail else "")
            rows.append(ValueRow(name, ctx.redact(src.value), where))
    missing = [(name, missing_hint(name)) for name in item_missing(screen)]

    def answered(answer: tuple[str, str] | None) -> None:
        if answer is None:
            return
        name, value = answer
        before = ctx.values.get(name, "")
        if not set_value(screen.session, checklist, name, value, via="app",
                         record=screen.record):
            return  # the runbook said why (read-only, disk)
        now = ctx.values.get(name, "")
        stored = screen.session.events[-1].data.get("value") if screen.session.events else None
        if stored != value:
            screen.notify(
                f"{name}: the value looks like a secret and was stored masked, so it is not "
                "used. Give secrets through the environment (${env:NAME}).",
                title="Value masked", severity="error", timeout=15)
            return
        screen.notify(
            f"{name} = {ctx.redact(now) or '(empty)'} (was {ctx.redact(before) or 'not set'}); "
            "recorded, kept on resume.", title="Value set")

    screen.app.push_screen(
        SetValueModal(missing, rows, lambda name: refuse_name(checklist, name),
                      secrets=list(checklist.secrets)), answered)
