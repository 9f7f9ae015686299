"""A long item wraps with its continuation lines under its text, not under the [ ] mark."""

from __future__ import annotations

from pathlib import Path

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import SessionStore

LONG = ("Confirm the maintenance page is served for every host behind the load balancer "
        "before the database migrations start")

CHECKLIST = f"""\
name: Wrap test
phases:
  - id: pre
    title: Pre-Deployment
    sections:
      - id: s
        title: Section
        items:
          - id: long
            text: {LONG}
          - id: short
            text: Short one
"""


async def test_wrapped_item_lines_indent_under_the_text(tmp_path: Path) -> None:
    path = tmp_path / "wrap.yaml"
    path.write_text(CHECKLIST, encoding="utf-8")
    checklist = load_checklist(path)
    store = SessionStore(tmp_path / "state")
    session = store.create(checklist, vars={}, operator="ana")
    app = make_app(checklist, session, use_git=False, services={"banner": False})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        item_list = app.screen.current_list
        assert item_list is not None
        region = item_list.content_region.reset_offset
        lines = [strip.text for strip in item_list.render_lines(region)]
        first = next(n for n, line in enumerate(lines) if "Confirm the" in line)
        text_column = lines[first].index("Confirm")
        continuation = lines[first + 1][1:]  # after the list's left border
        assert continuation.startswith(" ") and "for every host" in continuation, continuation
        indent = len(continuation) - len(continuation.lstrip())
        assert indent == text_column - 1, lines[first : first + 2]
        assert "Short one" in "".join(lines)
    session.close()
