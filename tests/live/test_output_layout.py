"""Where the run output view sits: under the detail panel, the item list keeping its height."""

from __future__ import annotations

from typing import Any

import pytest
from live_helpers import goto, runbook, shown_view, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session


@pytest.mark.parametrize("size", [(100, 32), (80, 24)], ids=["100x32", "80x24"])
async def test_output_view_sits_under_the_detail_panel(
    live: Checklist, session: Session, services: dict[str, Any], size: tuple[int, int]
) -> None:
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=size) as pilot:
        await goto(pilot, app, "pre.hello")
        screen = runbook(app)
        pane = screen._phase_pane()
        assert pane is not None
        items, detail = pane.item_list, pane.detail
        list_height = items.region.height
        output = screen.runs.output
        output.open_run("r1", "pre.hello  $ echo hello", status="exit 0 in 0.1 s", state="ok")
        output.feed("r1", [f"line {n}" for n in range(40)])
        output.show("r1")
        view = shown_view(app)
        await wait_for(pilot, lambda: view.display and view.region.height > 0, what="the view")
        await pilot.pause(0.1)
        # Right column, under the detail panel; the list keeps its full height.
        assert view.region.x == detail.region.x and view.region.width == detail.region.width
        assert view.region.y >= detail.region.bottom
        assert items.region.height == list_height
        # Both usable: the detail keeps a few lines, the output shows several lines of output.
        assert detail.region.height >= 5 and view.region.height >= 5
        assert "line 39" in "\n".join(strip.text for strip in view.query_one("#run-log").lines)
        # Hidden again when no run is shown: the detail panel gets the whole column back.
        output.show(None)
        await wait_for(pilot, lambda: not view.has_class("-shown"), what="the view to hide")
        await pilot.pause(0.1)
        assert detail.region.bottom == items.region.bottom
