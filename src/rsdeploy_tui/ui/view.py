"""Pure functions from (checklist, session state) to what the widgets show.

No widgets here, so the rules (what blocks an item, where the cursor goes next, how an item line
reads) are testable without a screen. Everything shown is derived from ``SessionState``; nothing
about an item's state is kept anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from rsdeploy_tui.ui.glyphs import Glyphs

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item, Phase
    from rsdeploy_tui.session import ItemState, SessionState

EVIDENCE_VALUE_WIDTH = 120
STALE_GLYPH = "?"
"""Check cell of a result older than the item's last successful run (ASCII in both sets)."""
FAILING_BADGE = "now failing"
"""After the text of a done item whose latest check fails or errors."""


def item_state(state: SessionState, qid: str) -> ItemState | None:
    """The derived state of one item (None when nothing happened to it yet)."""
    return state.items.get(qid)


def state_name(state: SessionState, qid: str) -> str:
    """pending|done|skipped|failed|running for an item."""
    found = state.items.get(qid)
    return found.state if found is not None else "pending"


def is_done(state: SessionState, qid: str) -> bool:
    """Done and still green: ticked, and its latest check does not now fail (gates use this)."""
    found = state.items.get(qid)
    return found is not None and found.state == "done" and not found.failing


def _finished(state: SessionState, qid: str) -> bool:
    found = state.items.get(qid)
    return found is not None and found.resolved


def phase_counts(phase: Phase, state: SessionState) -> tuple[int, int]:
    """(finished, total) of a phase; skipped items count as finished (they were decided).

    A done item whose latest check now fails is not finished: the bar must not read 100%.
    """
    items = phase.items
    finished = sum(1 for i in items if _finished(state, i.qid))
    return finished, len(items)


def overall_counts(checklist: Checklist, state: SessionState) -> tuple[int, int, int]:
    """(finished, total, critical pending) over the whole checklist."""
    finished = total = critical = 0
    for item in checklist.iter_items():
        total += 1
        if _finished(state, item.qid):
            finished += 1
        elif item.critical:
            critical += 1
    return finished, total, critical


def failing_items(items: Iterable[Item], state: SessionState) -> list[Item]:
    """Items that are done but whose latest check fails or errors (the header counts them)."""
    return [i for i in items if (found := state.items.get(i.qid)) is not None and found.failing]


def tab_label(phase: Phase, state: SessionState) -> str:
    """``Pre 12/45``: the phase's short tab title (else its title) and progress."""
    done, total = phase_counts(phase, state)
    return f"{phase.tab_title} {done}/{total}"


def blockers(checklist: Checklist, item: Item, state: SessionState) -> list[Item]:
    """Gate and ``requires`` items not done yet that stop ``item`` being ticked.

    The gate items themselves are exempt from their phase's gate (a phase may be gated on its
    own first items). A recorded gate override of the item's phase lifts the phase gate and the
    item's requires.
    """
    phase = checklist.phase_of(item)
    if phase.id in state.gate_overrides:
        return []
    gate = () if item.qid in phase.gate else phase.gate
    refs = [*gate, *item.requires]
    found: list[Item] = []
    for ref in refs:
        other = checklist.find_item(ref)
        if other is not None and other not in found and not is_done(state, other.qid):
            found.append(other)
    return found


def next_pending(items: Sequence[Item], state: SessionState, after: str | None) -> Item | None:
    """The first pending item after ``after`` (wrapping round), else None."""
    if not items:
        return None
    start = 0
    if after is not None:
        for index, item in enumerate(items):
            if item.qid == after:
                start = index + 1
                break
    ordered = [*items[start:], *items[:start]]
    return next((i for i in ordered if state_name(state, i.qid) in ("pending", "failed")), None)


def resume_phase(checklist: Checklist, state: SessionState) -> Phase:
    """The phase where work stopped: the recorded current phase, else the first unfinished."""
    if state.current_phase:
        try:
            phase = checklist.phase(state.current_phase)
        except KeyError:
            phase = None
        if phase is not None and next_pending(phase.items, state, None) is not None:
            return phase
    for phase in checklist.phases:
        if next_pending(phase.items, state, None) is not None:
            return phase
    return checklist.phases[0]


def matches(item: Item, text: str, needle: str) -> bool:
    """Whether the filter ``needle`` (case-insensitive words) matches an item."""
    haystack = f"{item.id} {text} {item.command or ''}".lower()
    return all(word in haystack for word in needle.lower().split())


def short_time(at: str | None) -> str:
    """``2026-11-26T02:31:07.123Z`` -> ``02:31:07 UTC`` (the operator reads times, not dates)."""
    if not at:
        return "?"
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    return moment.strftime("%H:%M:%S UTC")


def check_glyph(found: ItemState | None, item: Item, glyphs: Glyphs,
                checking: bool = False) -> Text:
    """One cell for the list: no check (blank), running now, not run, passed, failed/errored,
    skipped."""
    if item.check is None:
        return Text(" ")
    if checking:
        return Text(glyphs.check_running, style="bold yellow")
    record = found.check if found is not None else None
    if record is None or record.status == "skipped":
        return Text(glyphs.check_none, style="dim")
    if found is not None and found.check_stale:
        # Older than the item's last successful run: says nothing about now.
        return Text(STALE_GLYPH, style="bold yellow")
    if record.status == "pass":
        return Text(glyphs.check_pass, style="bold green")
    return Text(glyphs.check_fail, style="bold red")


# as in Markdown, ** opens only before and closes only after a non-space: "**** and ****" (two
# masked values) stays as it is instead of becoming a bold " and "
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*\s](?:[^*]*[^*\s])?)\*\*")


def inline(text: str, style: str = "") -> Text:
    """Checklist text with its inline Markdown shown, not printed: `code` and **bold**."""
    out = Text(style=style)
    position = 0
    for match in _INLINE.finditer(text):
        out.append(text[position : match.start()])
        if match.group(1) is not None:
            out.append(match.group(1), style="bold cyan")
        else:
            out.append(match.group(2), style="bold")
        position = match.end()
    out.append(text[position:])
    return out


MARK_STYLES = {
    "pending": "",
    "done": "green",
    "skipped": "dim",
    "failed": "bold red",
    "running": "bold yellow",
}


def item_prompt(item: Item, found: ItemState | None, text: str, glyphs: Glyphs,
                checking: bool = False) -> Text:
    """One list line: state mark, check status cell (``checking``: its check is running),
    text, CRITICAL badge."""
    name = found.state if found is not None else "pending"
    line = Text()
    failing = found is not None and found.failing
    line.append(glyphs.mark(name), style="bold reverse red" if failing else MARK_STYLES.get(name, ""))
    line.append(" ")
    line.append_text(check_glyph(found, item, glyphs, checking))
    line.append(" ")
    line.append_text(inline(text, style="dim" if name == "skipped" else ""))
    if failing:
        line.append(" ")
        line.append(FAILING_BADGE, style="bold red")
    if item.critical:
        line.append(" ")
        green = name == "done" and not failing
        line.append("CRITICAL", style="bold reverse red" if not green else "red")
    return line


def section_prompt(title: str, glyphs: Glyphs) -> Text:
    """A section heading inside a phase list."""
    return Text(f"{glyphs.rule * 2} {title} {glyphs.rule * 2}", style="bold")


def _evidence_lines(evidence: Mapping[str, Any], indent: str = "  ") -> Iterable[str]:
    # One renderer for the panel, `check` and the reports: text, never Python reprs.
    from rsdeploy_tui.checks.evidence import evidence_lines

    return evidence_lines(evidence, indent, EVIDENCE_VALUE_WIDTH)


_BLOCK_START = re.compile(r"\s|[-*+] |\d+[.)] |#|>|```|\|")


def reflow(text: str) -> str:
    """Join a help text's soft line breaks into paragraphs, as Markdown shows them.

    Blank lines, list items, headings, quotes, tables and indented lines start a new line;
    fenced code blocks keep every line.
    """
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        starts_block = not line.strip() or bool(_BLOCK_START.match(line))
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        joinable = out and out[-1].strip() and not out[-1].startswith("```")
        if not fenced and not starts_block and joinable:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def _heading(out: Text, title: str) -> None:
    out.append(f"\n{title}\n", style="bold underline")


def _check_verdict(out: Text, item: Item, found: ItemState | None) -> None:
    """The check's verdict and its reason, first in the detail panel (above the help)."""
    assert item.check is not None
    _heading(out, f"Check  {item.check.type}")
    record = found.check if found is not None else None
    if record is None:
        out.append("  not run yet\n", style="dim")
        return
    style = "green" if record.status == "pass" else "bold red"
    if record.status == "skipped":
        style = "dim"
    stale = found is not None and found.check_stale
    if stale:
        style = "bold yellow"
        ok = found.last_success if found is not None else None
        out.append(f"  STALE: older than the run that ended exit 0 at "
                   f"{short_time(ok.finished if ok else None)}; c checks again\n",
                   style=style)
    out.append(f"  {'was ' if stale else ''}{record.status.upper()}", style=style)
    took = f"{record.duration_s:.1f}s, " if record.duration_s is not None else ""
    out.append(f"  {record.summary}  ({took}at {short_time(record.at)})\n")
    for line in _evidence_lines(record.evidence or {}, "    "):
        out.append(line + "\n", style="dim")


def _param_text(value: Any) -> str:
    """A check parameter as text (``status=healthy``), not a Python repr."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_param_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_param_text(v) for v in value)
    return str(value)


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+")


def help_layout(text: str) -> Text:
    """A help text's Markdown laid out as text: fenced code without its fences, indented
    and coloured; headings bold; `code` and **bold** inline; soft breaks joined (``reflow``)."""
    out = Text()
    fenced = False
    for line in reflow(text).splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            out.append(f"  {line}\n", style="cyan")
        elif _HEADING.match(line):
            out.append_text(inline(_HEADING.sub("", line), style="bold"))
            out.append("\n")
        else:
            out.append_text(inline(line))
            out.append("\n")
    return out


def detail_text(
    checklist: Checklist,
    item: Item,
    state: SessionState,
    expand_display: Any,
    glyphs: Glyphs,
    *,
    command: str | None = None,
    missing: Sequence[str] = (),
    hint: Any = None,
    running_on: str | None = None,
) -> Text:
    """Everything about one item for the detail panel.

    Args:
        checklist: The checklist.
        item: The highlighted item.
        state: Derived session state.
        expand_display: ``str -> str`` expanding ``${vars}`` with secrets masked.
        glyphs: Mark set.
        command: What ``r`` runs and records, as shown (``RunbookContext.command_shown``);
            None: the item's command expanded with ``expand_display``.
        missing: Names the item needs that have no value (``r``/``c`` refuse).
        hint: ``name -> sentence`` saying how to give a missing value.
        running_on: The machine its run goes on when it is another one (``<host> · last
            output 3 min ago``; ``ui/remote_runs.py``).
    """
    found = state.items.get(item.qid)
    name = found.state if found is not None else "pending"
    out = Text()
    out.append(f"{glyphs.mark(name)} ", style=MARK_STYLES.get(name, ""))
    out.append_text(inline(expand_display(item.text), style="bold"))
    if item.critical:
        out.append("  CRITICAL", style="bold red")
    out.append(f"\n{item.qid}", style="dim")
    phase = checklist.phase_of(item)
    section = next((s for s in phase.sections if item in s.items), None)
    if section is not None:
        where = f"{phase.title} / {section.title}" if section.title else phase.title
        out.append(f"  {glyphs.sep}  {where}", style="dim")
    out.append("\n")

    if found is not None and name == "done":
        failing = found.failing
        out.append(f"\nTicked by {found.by or '?'} at {short_time(found.at)}",
                   style="bold red" if failing else "green")
        if found.reason:
            out.append(f" although its check had not passed: {found.reason}", style="yellow")
        out.append("\n")
        if failing and found.check is not None:
            out.append(f"Now failing: its latest check ({short_time(found.check.at)}) did not "
                       "pass. It is not counted as done.\n", style="bold red")
    elif found is not None and name == "skipped":
        out.append(f"\nSkipped by {found.by or '?'} at {short_time(found.at)}: ", style="yellow")
        out.append(f"{found.reason or '(no reason)'}\n")
    elif name == "failed":
        out.append("\nFailed", style="bold red")
        if found is not None and found.at:
            out.append(f" at {short_time(found.at)}", style="red")
        if found is not None and found.reason:  # marked failed by an operator (F)
            out.append(f" by {found.by or '?'}: ", style="red")
            out.append(found.reason)
        out.append("\n")
    elif name == "running":
        out.append(f"\nRunning on {running_on}\n" if running_on else "\nRunning\n",
                   style="bold yellow")

    if item.check is not None:
        _check_verdict(out, item, found)

    blocking = blockers(checklist, item, state)
    if blocking:
        _heading(out, "Blocked by")
        for other in blocking:
            out.append(f"  {glyphs.mark(state_name(state, other.qid))} {other.qid}  ")
            out.append(f"{expand_display(other.text)}\n")
    override = state.gate_overrides.get(phase.id)
    if override is not None:
        _heading(out, "Gate overridden")
        out.append(f"  by {override.by} at {short_time(override.at)}: {override.reason}\n")

    if item.help:
        _heading(out, "Help")
        out.append_text(help_layout(expand_display(item.help.strip())))
    if item.command:
        mode = "interactive (app suspended)" if item.interactive else "detached (survives SSH drop)"
        _heading(out, f"Command  [{mode}]")
        shown = command if command is not None else expand_display(item.command.strip())
        out.append(shown.rstrip("\n") + "\n", style="cyan")
        if item.confirm:
            out.append(f"  asks you to type: {expand_display(item.confirm)}\n", style="yellow")
        if item.tick_on_success:
            out.append("  ticks on exit status 0\n", style="dim")
    if item.action is not None:
        _heading(out, f"Action  {item.action.type}")
        if command is not None:
            out.append(command + "\n", style="cyan")
        for key, value in item.action.params.items():
            out.append(f"  {key}: {expand_display(str(value))}\n")
    if missing:
        _heading(out, "Not ready: values not set")
        for name in missing:
            out.append(f"  - {hint(name) if hint else name}\n", style="red")
    if item.check is not None:
        _heading(out, f"Check params  {item.check.type}")
        for key, value in item.check.params.items():
            out.append(f"  {key}: {expand_display(_param_text(value))}\n")
    if found is not None and found.runs:
        _heading(out, "Runs")
        for run in found.runs[-3:]:
            exit_code = "running" if run.exit_code is None else f"exit {run.exit_code}"
            if run.cancelled:
                exit_code = f"cancelled ({run.cancelled})"
            elif run.finished and run.exit_code is None:
                exit_code = "ended, exit status unknown"
            out.append(f"  {run.run}  {short_time(run.started)}  {exit_code}\n")
            failed = getattr(run, "failed", None)
            if isinstance(failed, dict):  # the line a fail-fast run stopped at
                out.append(f"    line {failed.get('step')} of {failed.get('of')} failed: "
                           f"{failed.get('text', '')} → exit {failed.get('exit_code')}\n",
                           style="bold red")
            for line in (run.tail or [])[-5:]:
                out.append(f"    {line}\n", style="dim")
    if found is not None and found.notes:
        _heading(out, "Notes")
        for text, by, at in found.notes:
            out.append(f"  {short_time(at)} {by}: ", style="dim")
            out.append(f"{text}\n")
    return out


def detail_empty() -> Text:
    """The detail panel when no item is highlighted (a filter matching nothing)."""
    return Text("No item selected.", style="dim")


def gate_message(
    phase: Phase,
    blocking: Sequence[Item],
    state: SessionState,
    expand_display: Any,
    glyphs: Glyphs,
) -> Text:
    """Why an item of a gated phase cannot be ticked, naming each blocking item."""
    out = Text()
    out.append(f"Items of {phase.title} can be ticked once these are done:\n\n")
    for other in blocking:
        out.append(f"  {glyphs.mark(state_name(state, other.qid))} ")
        out.append(other.qid, style="bold")
        out.append(f"  {expand_display(other.text)}")
        if other.critical:
            out.append("  CRITICAL", style="bold red")
        out.append("\n")
    out.append(
        "\nDo them first (escape), or override the gate with a reason that goes into "
        "the deployment log."
    )
    return out
