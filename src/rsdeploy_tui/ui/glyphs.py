"""The marks the screen draws, with an ASCII set for terminals whose locale is not UTF-8.

Over SSH with ``LANG=C`` box-drawing and check glyphs come out as garbage; the bracket marks
(``[ ]`` ``[x]``) are ASCII already and stay the same in both sets, so operators and the tmux
tests read the same thing everywhere.
"""

from __future__ import annotations

import os

from rsdeploy_tui.records import datarecord


@datarecord(frozen=True)
class Glyphs:
    """One set of marks used by the widgets."""

    pending: str = "[ ]"
    """Item not done yet."""
    done: str = "[x]"
    """Item ticked."""
    skipped: str = "[-]"
    """Item skipped with a reason."""
    failed: str = "[!]"
    """Item failed (command exit status or check)."""
    running: str = "[~]"
    """A command of the item is running."""
    check_pass: str = "✓"
    """Check passed."""
    check_fail: str = "✗"
    """Check failed or errored."""
    check_none: str = "·"
    """Item has a check that has not run."""
    check_running: str = "⟳"
    """The item's check is running now (in the same cell: the line keeps its height)."""
    bar_full: str = "█"
    """Filled part of a progress bar."""
    bar_empty: str = "░"
    """Empty part of a progress bar."""
    rule: str = "─"
    """Horizontal rule around section headings."""
    sep: str = "·"
    """Separator between header fields."""
    ellipsis: str = "…"
    """Marks cut text."""
    ascii: bool = False
    """True for the ASCII set (the screen then uses ASCII borders too)."""

    def mark(self, state: str) -> str:
        """The state mark for an item state name (pending|done|skipped|failed|running)."""
        return getattr(self, state, self.pending) if state in _STATES else self.pending


_STATES = frozenset({"pending", "done", "skipped", "failed", "running"})

UNICODE = Glyphs()
ASCII = Glyphs(
    check_pass="+",
    check_fail="X",
    check_none=".",
    check_running="~",
    bar_full="#",
    bar_empty="-",
    rule="-",
    sep="|",
    ellipsis="...",
    ascii=True,
)


def locale_is_utf8(environ: dict[str, str] | None = None) -> bool:
    """Whether the terminal's locale (LC_ALL > LC_CTYPE > LANG, as libc decides) is UTF-8.

    Python coerces a C locale by setting ``LC_CTYPE=C.UTF-8`` in its own environment (PEP 538);
    the terminal is still a C-locale terminal, so that coerced value is not believed.
    """
    env = os.environ if environ is None else environ
    lang = env.get("LANG", "")
    ctype = env.get("LC_CTYPE", "")
    if not env.get("LC_ALL") and ctype in _COERCED and lang in ("", "C", "POSIX"):
        return False
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name)
        if value:
            upper = value.upper()
            return "UTF-8" in upper or "UTF8" in upper
    # No locale at all is the C locale.
    return False


_COERCED = frozenset({"C.UTF-8", "C.utf8", "UTF-8"})


def pick(ascii_only: bool | None = None) -> Glyphs:
    """The glyph set for this terminal; ``ascii_only`` forces a choice (tests)."""
    if ascii_only is None:
        ascii_only = not locale_is_utf8()
    return ASCII if ascii_only else UNICODE


def use_ascii_scrollbars() -> None:
    """Draw every scrollbar of this process without block glyphs (a terminal that is not UTF-8).

    The thumb is then whole cells of its colour only (no eighth-cell steps). Process-wide:
    the command line calls it for its own app; tests that force ASCII marks leave it alone.
    """
    from textual.scrollbar import ScrollBar, ScrollBarRender

    class AsciiScrollBarRender(ScrollBarRender):
        VERTICAL_BARS = [" "] * 8
        HORIZONTAL_BARS = [" "] * 8

    ScrollBar.renderer = AsciiScrollBarRender
