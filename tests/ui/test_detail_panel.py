"""The detail panel: the verdict and its reason first, help Markdown laid out (no raw fences)."""

from __future__ import annotations

from pathlib import Path

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import derive_state
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.ui.glyphs import UNICODE
from rsdeploy_tui.ui.view import detail_text

CHECKLIST = """\
name: Detail
phases:
  - id: post
    title: Post
    items:
      - id: health
        text: Health endpoint answers
        help: |
          Ask the endpoint:

          ```bash
          curl -s https://example.test/health/
          ```

          It must say **healthy**.
        check: {type: http, url: "https://example.test/health/"}
"""


def test_the_verdict_comes_before_the_help_and_fences_are_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CHECKLIST)
    checklist = load_checklist(path)
    item = checklist.item("post.health")
    event = Event(1, "check_result", "2026-11-26T02:00:00+00:00", "ana", "h", item.qid,
                  {"status": "fail", "summary": "GET /health/ answered 503", "duration_s": 0.2,
                   "evidence": {"status": 503}})
    text = detail_text(checklist, item, derive_state([event], checklist), str, UNICODE).plain
    assert "```" not in text
    assert "  curl -s https://example.test/health/" in text
    assert "It must say healthy." in text  # **bold** shown bold, not printed
    verdict = text.index("FAIL  GET /health/ answered 503")
    assert verdict < text.index("Help") < text.index("Check params")


LONG_HELP = "\n".join(f"          Step {n}: read line {n} of the runbook." for n in range(1, 61))
SCROLLING = f"""\
name: Detail scroll
phases:
  - id: pre
    title: Pre
    items:
      - id: short-a
        text: Short one
      - id: long
        text: Long help
        help: |
{LONG_HELP}
      - id: short-b
        text: Another short one
"""


async def test_the_panel_scrolls_a_long_text_and_keeps_a_short_one_whole(tmp_path: Path) -> None:
    """A text that fits keeps the body's height (no layout at a cursor move); one that does
    not makes it grow, and the panel scrolls to its last line."""
    from textual.geometry import Region
    from textual.widgets import Static

    from rsdeploy_tui.app import make_app
    from rsdeploy_tui.session import SessionStore

    path = tmp_path / "c.yaml"
    path.write_text(SCROLLING)
    checklist = load_checklist(path)
    session = SessionStore(tmp_path / "state").create(checklist, vars={}, operator="ana")
    app = make_app(checklist, session, use_git=False, services={"banner": False})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.screen._phase_pane()
        detail = pane.detail
        body = detail.query_one("#detail-body", Static)
        assert "Short one" in detail.shown_text
        short_height = body.size.height
        assert detail.max_scroll_y == 0
        await pilot.press("j")  # the long help
        await pilot.pause()
        assert "Step 60" in detail.shown_text
        assert body.size.height > short_height and detail.max_scroll_y > 0
        detail.scroll_end(animate=False)
        await pilot.pause()
        shown = Region(0, round(detail.scroll_y), body.size.width,
                       detail.scrollable_content_region.height)  # the body's rows in view
        rows = [strip.text for strip in body.render_lines(shown)]
        assert any("Step 60: read line 60" in row for row in rows), rows
        await pilot.press("j")  # short again: back to the panel's height, nothing to scroll
        await pilot.pause()
        assert "Another short one" in detail.shown_text
        assert body.size.height == short_height and detail.max_scroll_y == 0
        await pilot.press("k", "k")
        await pilot.pause()
        assert "Short one" in detail.shown_text and body.size.height == short_height
    session.close()
