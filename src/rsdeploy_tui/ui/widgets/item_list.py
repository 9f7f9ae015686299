"""A phase's sections and items as one keyboard-first list.

An ``OptionList`` draws only the visible lines (one widget, not one per item), so a 60-item phase
moves as fast as a 6-item one. Section headings are disabled options, which the cursor skips.
Option ids are item qids; the list holds no item state, it is re-rendered from the session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from rsdeploy_tui.ui import view
from rsdeploy_tui.ui.glyphs import Glyphs

if TYPE_CHECKING:
    from typing import Self

    from rsdeploy_tui.checklist.model import Item, Phase
    from rsdeploy_tui.session import SessionState


class HangingLine:
    """A list line whose wrapped lines start under its text, not under its state mark."""

    def __init__(self, text: Text, indent: int) -> None:
        self.text = text
        self.indent = indent

    def __str__(self) -> str:
        return self.text.plain

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        full = cell_len(self.text.plain)
        return Measurement(min(full, self.indent + 8), full).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.text.cell_len <= width and "\n" not in self.text.plain:
            # Most lines fit: no wrapping to do (the list renders every line once to learn its
            # height, so this is most of the list's first frame).
            yield from self.text.render(console)
            yield Segment.line()
            return
        indent = self.indent if width >= self.indent + 8 else 0  # too narrow: plain wrapping
        head, body = self.text.divide([indent]) if indent else (Text(), self.text)
        for number, line in enumerate(body.wrap(console, width - indent)):
            out = head.copy() if number == 0 else Text(" " * indent)
            out.append_text(line)
            yield from out.render(console)
            yield Segment.line()


class ItemList(OptionList):
    """The items of one phase, grouped under their section headings."""

    # A cursor move repaints the two lines it changes (watch_highlighted), not the whole list:
    # with the detail panel, that repaint was most of what a key press cost.
    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(
        self,
        phase: Phase,
        glyphs: Glyphs,
        display_text: Callable[[str], str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.phase = phase
        self.glyphs = glyphs
        self._display_text = display_text
        self._texts = {item.qid: display_text(item.text) for item in phase.items}
        # Continuation lines start under the text: after the mark, a space, the check cell, a space.
        self._indent = cell_len(glyphs.mark("pending")) + 3
        self._shown: dict[str, tuple[str, str, bool]] = {}
        self.filter_text = ""
        self.checking: Collection[str] = frozenset()
        """Qids whose check is running (the runbook hands its check controller's live set)."""

    @property
    def visible_items(self) -> list[Item]:
        """Items currently in the list (after the filter), in order."""
        return [i for i in self.phase.items if i.qid in self._shown]

    def rebuild(self, state: SessionState, filter_text: str = "") -> None:
        """Rebuild all options (on mount and when the filter changes)."""
        keep = self.highlighted_qid
        self.filter_text = filter_text
        options: list[Option] = []
        self._shown = {}
        for section in self.phase.sections:
            items = [
                i
                for i in section.items
                if not filter_text or view.matches(i, self._texts[i.qid], filter_text)
            ]
            if not items:
                continue
            if section.title:  # a phase without sections has one untitled one: no heading
                options.append(Option(view.section_prompt(section.title, self.glyphs),
                                      disabled=True))
            for item in items:
                found = state.items.get(item.qid)
                options.append(Option(self._prompt(item, state), id=item.qid))
                self._shown[item.qid] = self._signature(item.qid, found)
        if not options:
            options.append(Option(Text("No item matches the filter.", style="dim"), disabled=True))
        self.set_options(options)
        if keep is not None and keep in self._shown:
            self.highlight_qid(keep)
        else:
            first = next(iter(self._shown), None)
            if first is not None:
                self.highlight_qid(first)

    def update_state(self, state: SessionState) -> None:
        """Re-render the lines whose item state changed."""
        for qid, before in self._shown.items():
            after = self._signature(qid, state.items.get(qid))
            if after != before:
                item = next(i for i in self.phase.items if i.qid == qid)
                self.replace_option_prompt(qid, self._prompt(item, state))
                self._shown[qid] = after

    def show_item(self, item: Item, state: SessionState) -> None:
        """Re-render one item's line now (its check started or ended); nothing when the
        filter hides it."""
        if item.qid in self._shown:
            self.replace_option_prompt(item.qid, self._prompt(item, state))
            self._shown[item.qid] = self._signature(item.qid, state.items.get(item.qid))

    def _prompt(self, item: Item, state: SessionState) -> HangingLine:
        text = view.item_prompt(item, state.items.get(item.qid), self._texts[item.qid],
                                self.glyphs, checking=item.qid in self.checking)
        return HangingLine(text, self._indent)

    def replace_option_prompt(self, option_id: str, prompt: object) -> Self:  # type: ignore[override]
        """Replace an item's line (a ``Text`` from elsewhere gets the hanging indent too)."""
        if isinstance(prompt, Text):
            prompt = HangingLine(prompt, self._indent)
        return super().replace_option_prompt(option_id, prompt)  # type: ignore[arg-type]

    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        super().watch_highlighted(new)
        for index in (old, new):
            if index is None or index >= self.option_count:
                continue
            try:
                line, height = self._index_to_line[index], self._heights[index]
            except (KeyError, AttributeError):  # not laid out yet, or another Textual
                self.refresh()
                return
            self.refresh_lines(line, height)

    def _replace_option_prompt(self, index: int, prompt: object) -> None:
        """Replace one line, keeping the cached layout and renders of all the others.

        OptionList drops every cache on a replace, so the next frame (and the next key) measured
        every line again: a Rich render of each of a phase's ~60 items after every check result
        that lands. A line whose height did not change only needs its own render dropped.
        """
        option = self.get_option_at_index(index)
        try:
            old_height = self._line_cache.heights.get(index)
            option._set_prompt(prompt)  # type: ignore[arg-type]
            if old_height is None:
                raise LookupError("not laid out yet")
            padding = self.get_component_styles("option-list--option").padding
            width = self.scrollable_content_region.width - self._get_left_gutter_width()
            height = self._get_visual(option).get_height(self.styles, width - padding.width)
            if height + option._divider != old_height:
                raise LookupError("the line's height changed")
            cache = self._option_render_cache
            for key in [key for key in cache.keys() if key[0] is option]:
                cache.discard(key)
            # Only this line's rows: a whole refresh redrew every visible line and the
            # scrollbar (a third of the frame's time while check results land).
            self.refresh_lines(self._index_to_line[index], old_height)
        except (LookupError, AttributeError):  # AttributeError: another Textual's internals
            super()._replace_option_prompt(index, prompt)  # type: ignore[arg-type]

    def _signature(self, qid: str, found: object) -> tuple[str, str, bool]:
        checking = qid in self.checking
        if found is None:
            return ("pending", "", checking)
        check = getattr(found, "check", None)
        return (getattr(found, "state", "pending"),
                getattr(check, "status", "") if check else "", checking)

    @property
    def highlighted_qid(self) -> str | None:
        """Qid of the highlighted item, if any."""
        option = self.highlighted_option
        return option.id if option is not None else None

    def highlight_qid(self, qid: str) -> bool:
        """Move the cursor to an item; False when it is filtered out."""
        if qid not in self._shown:
            return False
        self.highlighted = self.get_option_index(qid)
        return True
