"""At 80x24: the item list keeps at least 10 rows with the log pane open and a rollback banner,
the footer shows whole key names, and a long banner is cut with an ellipsis."""

from __future__ import annotations

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.rollback_banner import RollbackBanner
from rsdeploy_tui.ui.widgets.item_list import ItemList

REASON = "login page broken for every customer after the deploy of the new release " * 2


async def test_80x24_with_the_log_pane_and_a_rollback_keeps_ten_list_rows(
    mini: Checklist, session: Session
) -> None:
    session.record("rollback_started", reason=REASON, trigger=None)
    app = make_app(mini, session, use_git=False, services={"banner": False, "reattach": False})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        for _ in range(100):
            if app.screen.query("#log-pane"):
                break
            await pilot.pause(0.05)
        await pilot.pause()
        item_list = app.screen.query_one(ItemList)
        assert item_list.scrollable_content_region.height >= 10
        banner = app.screen.query_one(RollbackBanner)
        assert banner.region.height == 1
        strips = app.screen._compositor.render_strips()  # noqa: SLF001 (what is drawn)
        line = next(s.text for s in strips if "ROLLBACK" in s.text)
        assert line.rstrip().endswith("…") and "login page broken" in line
        # the footer: every key and its name whole (nothing cut at the right edge)
        footer = strips[-1].text.rstrip()
        assert footer.endswith("q Quit"), footer
