"""The phase tabs: one line of tab labels over the tab shown.

Textual's TabbedContent builds a tab widget and a pane per tab plus an underline bar; for the
bundled checklist's eight tabs that was ~30 ms of the first frame (bench/startup.py). Here the
labels are one widget (``TabStrip``) and each tab's body is a plain container (``TabPage``) in a
``ContentSwitcher``. Every label stays on screen: when they do not all fit, the other tabs'
titles are cut (their counts kept) so the operator always sees every phase and its progress.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher

ELLIPSIS = "…"
_COUNTS = re.compile(r"\d+/\d+")
MIN_TITLE = 5
"""A cut title keeps this many characters (with the ellipsis) before counts are dropped."""


class TabPage(Vertical):
    """One tab's body; ``label`` is what the strip shows for it."""

    def __init__(self, label: str, *children: Widget, id: str) -> None:
        super().__init__(*children, id=id)
        self.label = label


def _split(label: str) -> tuple[str, str]:
    """``("Pre-Deployment", "12/45")`` from ``"Pre-Deployment 12/45"``; counts may be empty."""
    title, _, counts = label.rpartition(" ")
    if title and _COUNTS.fullmatch(counts):
        return title, counts
    return label, ""


def _join(number: str, title: str, counts: str, keep: int | None, ellipsis: str) -> str:
    if keep is not None and keep < len(title):
        title = title[: max(keep - len(ellipsis), 1)] + ellipsis
    text = f"{number}{title}"
    return f"{text} {counts}" if counts else text


NUMBERED = 9
"""The first nine tabs show their number: the 1-9 keys go to them."""


def strip_width(shown: Sequence[str]) -> int:
    """Cells the strip takes for these labels: a space before each, one after the last."""
    return sum(len(text) + 1 for text in shown) + 1 if shown else 0


def fit_labels(
    labels: Sequence[str], active: int, width: int, *, ellipsis: str = ELLIPSIS,
    numbered: bool = True,
) -> list[str]:
    """The labels as drawn in ``width`` cells (``strip_width``), each after its tab number
    (``1 Pre 12/45``; the first ``NUMBERED`` tabs, unless ``numbered`` is false).

    Whole when they all fit. Otherwise the active label stays whole and the other titles are
    cut, the longest first, down to ``MIN_TITLE`` characters; then the other tabs' counts go,
    farthest from the active tab first; then titles are cut to one character. Numbers are never
    cut. What still does not fit is cropped by the strip (keeping the active tab in view).
    """
    parts = [_split(label) for label in labels]
    numbers = [f"{i + 1} " if numbered and i < NUMBERED else "" for i in range(len(parts))]
    keep: list[int | None] = [None] * len(parts)
    counts = [c for _, c in parts]

    def shown() -> list[str]:
        return [_join(numbers[i], t, counts[i], keep[i], ellipsis)
                for i, (t, _) in enumerate(parts)]

    def fits() -> bool:
        return strip_width(shown()) <= width

    others = [i for i in range(len(parts)) if i != active]

    def title_length(i: int) -> int:
        cut = keep[i]
        return len(parts[i][0]) if cut is None else cut

    def cut_titles(floor: int) -> bool:
        """Cut the longest other title by one character at a time; True once everything fits."""
        while not fits():
            lengths = {i: title_length(i) for i in others}
            longest = max(lengths.values(), default=0)
            if longest <= floor:
                return False
            for i, length in lengths.items():
                if length == longest:
                    keep[i] = length - 1
                    break
        return True

    if fits() or cut_titles(MIN_TITLE):
        return shown()
    for i in sorted(others, key=lambda i: -abs(i - active)):
        counts[i] = ""
        if fits():
            return shown()
    cut_titles(1)
    return shown()


class TabStrip(Widget):
    """The tab labels on one line; a click on one activates it."""

    COMPONENT_CLASSES = {"tab-strip--tab", "tab-strip--active"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []  # (start, end, tab id) as last drawn

    @property
    def tabs(self) -> PhaseTabs:
        parent = self.parent
        assert isinstance(parent, PhaseTabs)
        return parent

    def render(self) -> Text:
        tabs = self.tabs
        pages = tabs.pages
        ids = [page.id or "" for page in pages]
        active = ids.index(tabs.active) if tabs.active in ids else 0
        ellipsis = "..." if tabs.ascii else ELLIPSIS
        labels = fit_labels([page.label for page in pages], active, self.size.width,
                            ellipsis=ellipsis)
        plain = self.get_component_rich_style("tab-strip--tab")
        bright = self.get_component_rich_style("tab-strip--active")
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        # One space between tabs (two cost the bundled checklist its whole labels at 100
        # columns); the shown tab's highlight takes in the space after it.
        for index, label in enumerate(labels):
            start = line.cell_len
            if index == active:
                line.append(f" {label} ", style=bright)
            elif index == active + 1:
                line.append(f"{label}", style=plain)
            else:
                line.append(f" {label}", style=plain)
            self._spans.append((start, line.cell_len, ids[index]))
        if labels and active != len(labels) - 1:
            line.append(" ", style=plain)
        # Still too wide (a very narrow terminal): start where the active tab stays in view.
        start, end, _ = self._spans[active] if self._spans else (0, 0, "")
        overflow = line.cell_len - self.size.width
        if overflow > 0 and end > self.size.width:
            shift = min(overflow, end - self.size.width)
            line = line[shift:]
            self._spans = [(s - shift, e - shift, i) for s, e, i in self._spans]
        return line

    def cells_of(self, tab_id: str) -> tuple[int, int]:
        """Where a tab's label was drawn: (first cell, cell after the last)."""
        return next((start, end) for start, end, shown in self._spans if shown == tab_id)

    def on_click(self, event: events.Click) -> None:
        for start, end, tab_id in self._spans:
            if start <= event.x < end:
                self.tabs.active = tab_id
                return


class PhaseTabs(Vertical):
    """Tabs of ``TabPage``s (given as children, e.g. ``with PhaseTabs(): with TabPage(...)``).

    ``active`` is the shown tab's id; setting it to another tab switches and posts
    ``TabActivated`` (not for the initial tab: the owner sets that one up itself, before the
    first frame). A tab changes on a key, a click or ``active = ...``, never because a widget
    inside it got the focus.
    """

    class TabActivated(Message):
        """A tab is now shown."""

        def __init__(self, tabs: PhaseTabs, pane: TabPage) -> None:
            super().__init__()
            self.tabs = tabs
            self.pane = pane

        @property
        def control(self) -> PhaseTabs:
            return self.tabs

    def __init__(self, *, initial: str, id: str | None = None, ascii: bool = False) -> None:
        super().__init__(id=id)
        self._active = initial
        self._pages: list[TabPage] = []
        self.ascii = ascii

    def compose_add_child(self, widget: Widget) -> None:
        """Pages given in a ``with`` block go into the switcher, not directly in here."""
        assert isinstance(widget, TabPage), "PhaseTabs holds TabPage children only"
        self._pages.append(widget)

    def compose(self) -> ComposeResult:
        yield TabStrip()
        yield ContentSwitcher(*self._pages, initial=self._active)

    @property
    def pages(self) -> list[TabPage]:
        return self._pages

    @property
    def active(self) -> str:
        return self._active

    @active.setter
    def active(self, tab_id: str) -> None:
        if tab_id == self._active:
            return
        pane = self.get_pane(tab_id)
        self._active = tab_id
        self.query_one(ContentSwitcher).current = tab_id
        self.query_one(TabStrip).refresh()
        self.post_message(self.TabActivated(self, pane))

    def get_pane(self, tab_id: str) -> TabPage:
        """The page with this id (``NoMatches`` when there is none)."""
        for page in self._pages:
            if page.id == tab_id:
                return page
        raise NoMatches(f"No tab with id {tab_id!r}")

    def set_label(self, tab_id: str, label: str) -> None:
        """Change a tab's label (redrawn only when it changed)."""
        page = self.get_pane(tab_id)
        if page.label != label:
            page.label = label
            if self.is_mounted:
                self.query_one(TabStrip).refresh()
