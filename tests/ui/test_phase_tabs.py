"""The phase tab strip: every tab stays on screen, the shown one whole, at any width."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import derive_state
from rsdeploy_tui.ui.view import tab_label
from rsdeploy_tui.ui.widgets.phase_tabs import (
    PhaseTabs,
    TabPage,
    TabStrip,
    fit_labels,
    strip_width,
)

BUNDLED = [
    "Pre-Deployment 12/45", "Deployment 0/19", "Post-Deployment Verification 0/58",
    "Rollback 0/13", "Post-Rollback Analysis 0/6", "Communication 0/3", "Deployment Log",
    "Messages",
]


def width_of(labels: list[str]) -> int:
    return strip_width(labels)


def numbered(labels: list[str]) -> list[str]:
    return [f"{n} {label}" for n, label in enumerate(labels, 1)]


def test_labels_that_fit_are_left_whole_after_their_number() -> None:
    assert fit_labels(BUNDLED, 0, 200) == numbered(BUNDLED)
    assert fit_labels(BUNDLED, 0, 200, numbered=False) == BUNDLED


def test_the_bundled_tabs_read_whole_with_numbers_and_counts_at_100_columns() -> None:
    """At 110 columns the tabs read `Deploy… Post-D… Rollba…`, and Deployment and Deployment
    Log both `Depl…`: the bundled phases carry short tab titles that fit, on a fresh session
    and halfway through Deployment."""
    checklist = load_checklist()
    fresh = derive_state([], checklist)
    labels = [tab_label(phase, fresh) for phase in checklist.phases] + ["Log", "Messages"]
    assert labels[:3] == ["Pre 0/45", "Deploy 0/19", "Verify 0/58"]
    for active in range(len(labels)):
        assert fit_labels(labels, active, 100) == numbered(labels)
    halfway = ["Pre 45/45", "Deploy 10/19", *labels[2:]]
    assert fit_labels(halfway, 1, 100) == numbered(halfway)


@pytest.mark.parametrize("width", [80, 100, 120, 160])
@pytest.mark.parametrize("active", range(len(BUNDLED)))
def test_every_tab_shows_in_the_width_with_the_active_one_whole(width: int, active: int) -> None:
    shown = fit_labels(BUNDLED, active, width)
    assert width_of(shown) <= width
    assert shown[active] == numbered(BUNDLED)[active]
    for number, (label, full) in enumerate(zip(shown, BUNDLED, strict=True), 1):
        # each other tab keeps its number and the start of its title (recognisable, clickable)
        assert label.startswith(f"{number} ")
        start = label[2:].split("…")[0].split(" ")[0]
        assert len(start) >= 2 and full.startswith(start)


def test_longest_titles_are_cut_first_and_counts_kept_while_there_is_room() -> None:
    shown = fit_labels(BUNDLED, 0, 120, numbered=False)
    assert shown[2].startswith("Post-") and shown[2].endswith("… 0/58")
    assert shown[3] == "Rollback 0/13"  # short enough to stay whole
    assert width_of(shown) <= 120


def test_counts_go_from_the_farthest_tabs_first_when_titles_are_as_short_as_they_go() -> None:
    shown = fit_labels(BUNDLED, 0, 80, numbered=False)
    assert shown[0] == "Pre-Deployment 12/45"
    assert shown[1].endswith("0/19")  # the neighbour keeps its counts longest
    assert "/" not in shown[5]  # Communication, far away, lost its counts
    assert width_of(shown) <= 80


def test_ascii_ellipsis() -> None:
    shown = fit_labels(BUNDLED, 0, 100, ellipsis="...")
    assert any("..." in label for label in shown)
    assert not any("…" in label for label in shown)


class Strip(App[None]):
    def __init__(self, active: str) -> None:
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        with PhaseTabs(initial=self.active, id="phases"):
            for number, label in enumerate(BUNDLED):
                yield TabPage(label, id=f"tab-{number}")


async def test_a_click_on_a_cut_label_shows_that_tab_whole() -> None:
    app = Strip("tab-0")
    async with app.run_test(size=(80, 10)) as pilot:
        tabs = app.query_one(PhaseTabs)
        start, end = app.query_one(TabStrip).cells_of("tab-5")
        assert end - start < len(numbered(BUNDLED)[5]) + 1  # drawn cut
        await pilot.click(TabStrip, offset=(start + 1, 0))
        await pilot.pause()
        assert tabs.active == "tab-5"
        # now whole, and every tab still fits in the line
        start, end = app.query_one(TabStrip).cells_of("tab-5")
        assert end - start == len(numbered(BUNDLED)[5]) + 2  # with the space either side
        assert app.query_one(TabStrip).cells_of("tab-7")[1] <= 80


async def test_a_very_narrow_strip_keeps_the_active_tab_in_view() -> None:
    app = Strip("tab-7")
    async with app.run_test(size=(30, 10)) as pilot:
        await pilot.pause()
        start, end = app.query_one(TabStrip).cells_of("tab-7")
        assert start >= 0 and end <= 30
        assert "Messages" in str(app.query_one(TabStrip).render())
