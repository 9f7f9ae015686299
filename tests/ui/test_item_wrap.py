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


async def test_a_running_check_keeps_its_line_to_the_same_rows(tmp_path: Path) -> None:
    """⟳ takes the check cell: a line whose text ends near the edge does not grow a row while
    its check runs (a taller line re-laid out the whole screen at every result)."""
    import asyncio

    gate = tmp_path / "go"
    words = "Confirm the maintenance page is served for every host behind the balancer now"
    texts = [words[:length].rstrip() for length in range(18, 48)]
    items = "".join(
        f"          - id: c{n}\n            text: {text}\n"
        f"            check: {{type: command, run: 'while [ ! -e {gate} ]; do sleep 0.05; "
        f"done'}}\n" for n, text in enumerate(texts))
    path = tmp_path / "edge.yaml"
    path.write_text(CHECKLIST.split("        items:\n")[0] + "        items:\n" + items,
                    encoding="utf-8")
    checklist = load_checklist(path)
    session = SessionStore(tmp_path / "state").create(checklist, vars={}, operator="ana")
    app = make_app(checklist, session, use_git=False, services={"banner": False})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        item_list = app.screen.current_list
        assert item_list is not None
        width = item_list.scrollable_content_region.width - 2  # the option's own padding

        def rows() -> list[int]:
            return [item_list._line_cache.heights[item_list.get_option_index(f"pre.c{n}")]
                    for n in range(len(texts))]

        before = rows()
        # not vacuous: words after the text ("  ⟳ checking…", as it was) would wrap some lines
        assert any(6 + len(text) <= width < 6 + len(text) + 13 for text in texts)
        await pilot.press("a")
        for _ in range(200):
            await pilot.pause(0.02)
            if app.screen.checking.running_count == len(texts):
                break
        assert app.screen.checking.running_count == len(texts)
        await pilot.pause()
        assert all(str(item_list.get_option(f"pre.c{n}").prompt).startswith("[ ] ⟳ ")
                   for n in range(len(texts)))
        assert rows() == before
        gate.touch()
        for _ in range(300):
            await pilot.pause(0.02)
            if sum(e.kind == "check_result" for e in session.events) == len(texts):
                break
        await asyncio.sleep(0)
    results = [e for e in session.events if e.kind == "check_result"]
    assert len(results) == len(texts) and {e.data["status"] for e in results} == {"pass"}
    session.close()
