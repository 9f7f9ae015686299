"""The log pane (`l`, `L`): the fake eb streams into it, dies, restarts, explains known failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from live_helpers import SIZE, runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.runner import LogLine
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.widgets.log_pane import LogPane, PaneLog
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs


def pane_of(app: Any) -> LogPane:
    pane = runbook(app).logs.pane
    assert pane is not None
    return pane


def shown(app: Any) -> list[str]:
    return list(pane_of(app).query_one(PaneLog).lines)


async def open_pane(pilot: Any, app: Any, key: str = "l") -> LogPane:
    await wait_for(pilot, lambda: runbook(app).runs.ready)
    await pilot.press(key)
    await wait_for(pilot, lambda: runbook(app).logs.pane is not None
                   and runbook(app).logs.pane.is_mounted)
    return pane_of(app)


async def test_fake_eb_lines_appear_tagged_and_are_archived(
    live: Checklist, session: Session, services: dict[str, Any], fake_eb: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "fast")
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "12")
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) >= 12, what="12 lines")
        lines = shown(app)
        assert lines[0].startswith("[i-0a1b2c3d4e5f6000")
        assert any("café" in line for line in lines)
        assert any("red text from a coloured logger" in line for line in lines)
        assert not any("\x1b" in line or "[31m" in line or "[2J" in line for line in lines)
        assert "Streaming eb-engine.log of live-prod" in pane.status_text
        assert pane.query_one(PaneLog).has_focus
        await pilot.press("l")  # hide: focus back on the list
        assert not pane.display
        await pilot.pause(0.1)
        archive = Path(session.dir) / "logs" / "eb-engine.log"
        assert archive.exists()
        assert "i-0a1b2c3d4e5f6000" in archive.read_text(encoding="utf-8")


async def test_source_death_restarts_with_the_reason_shown(
    live: Checklist, session: Session, services: dict[str, Any], fake_eb: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "die")
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "3")
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: pane.state == "retrying", what="a restart")
        assert "Restarting in 1 s" in pane.status_text
        assert len(shown(app)) >= 3
        # the restart streams again (3 more lines)
        await wait_for(pilot, lambda: len(shown(app)) >= 6, what="lines after the restart")


async def test_disabled_streaming_suggests_the_fix(
    live: Checklist, session: Session, services: dict[str, Any], fake_eb: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "disabled")
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: "Fix:" in pane.status_text, what="the fix")
        assert "eb logs --cloudwatch-logs enable" in pane.status_text


async def test_missing_eb_is_a_clear_message(
    live: Checklist, session: Session, services: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    app = make_app(live, session, use_git=False, services=services)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: pane.state == "stopped", what="the stop")
        assert "eb" in pane.status_text and "not" in pane.status_text.lower()
        await pilot.press("escape")  # the app is alive and takes keys
        await pilot.press("l")
        assert not pane.display


def canned(lines: list[tuple[str, str]]) -> Any:
    """A log source yielding one batch, then idling (like a quiet environment)."""

    def make(vars: Any, group: str) -> Any:
        async def source() -> AsyncGenerator[list[LogLine], None]:
            yield [LogLine(instance, group, text) for instance, text in lines]
            await asyncio.Event().wait()

        return source

    return make


CANNED = [
    ("i-0aaa", "2026/11/26 02:30:00 [INFO] Executing instruction: StageApplication"),
    ("i-0aaa", "2026/11/26 02:30:01 [WARN] pip: a newer version is available"),
    ("i-0bbb", "2026/11/26 02:30:02 [ERROR] An error occurred during execution of command"),
    ("i-0bbb", "GET /health/ 200 password=hunter2-secret"),
]


async def test_filter_pause_full_screen_and_secrets(
    live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    app = make_app(live, session, use_git=False,
                   services={**services, "log_source": canned(CANNED)})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == 4)
        assert "hunter2-secret" not in " ".join(shown(app))
        await pilot.press("f", *"error", "enter")
        assert shown(app) == ["[i-0bbb] 2026/11/26 02:30:02 [ERROR] An error occurred during "
                              "execution of command"]
        pane.set_filter(r"/\[(WARN|ERROR)\]/")
        await pilot.pause()
        assert len(shown(app)) == 2
        pane.set_filter("")
        await pilot.pause()
        await pilot.press("p")
        pane.ingest([LogLine("i-0ccc", None, "while paused")])
        await pilot.pause(0.15)
        assert "while paused" not in " ".join(shown(app))
        assert "PAUSED (1 waiting" in str(pane.query_one("#log-status").render())
        await pilot.press("p")
        await wait_for(pilot, lambda: "[i-0ccc] while paused" in shown(app))
        tabs = runbook(app).query_one(PhaseTabs)
        await pilot.press("L")
        assert not tabs.display and pane.display
        await pilot.press("L")
        assert tabs.display and pane.display


async def test_new_lines_hint_when_scrolled_up(
    live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    many = [("i-0aaa", f"line {n}") for n in range(200)]
    app = make_app(live, session, use_git=False, services={**services, "log_source": canned(many)})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == 200)
        log = pane.query_one(PaneLog)
        await pilot.pause(0.1)
        assert log.is_vertical_scroll_end  # follows while at the bottom
        log.scroll_home(animate=False)
        await pilot.pause(0.1)
        pane.ingest([LogLine("i-0aaa", None, f"new {n}") for n in range(7)])
        await wait_for(pilot, lambda: pane.unseen == 7)
        assert "+7 new lines" in str(pane.query_one("#log-status").render())
        assert log.scroll_y == 0  # not dragged down
        await pilot.press("end")
        await pilot.pause(0.1)
        assert log.is_vertical_scroll_end and pane.unseen == 0


async def test_secrets_in_the_stream_are_masked_on_screen_and_on_disk(
    live: Checklist, session: Session, services: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canary = "Zq-canary-9183"
    monkeypatch.setenv("DB_PASSWORD", canary)
    lines = [("i-0aaa", f"connecting with {canary} to the db"),
             ("i-0aaa", "DATABASE_URL=postgres://app:hunter2pw@db:5432/app"),
             ("i-0aaa", "AKIAABCDEFGHIJKLMNOP used"),
             *(("i-0aaa", f"plain line {n}") for n in range(50))]
    app = make_app(live, session, use_git=False,
                   services={**services, "log_source": canned(lines)})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == len(lines))
        await pilot.pause(0.1)
        text = "\n".join(shown(app))
        assert shown(app)[0] == "[i-0aaa] connecting with **** to the db"
        assert "plain line 49" in text
        archived = pane.archive_file().read_text(encoding="utf-8")
    for where in (text, archived):
        assert canary not in where and "hunter2pw" not in where
        assert "AKIAABCDEFGHIJKLMNOP" not in where


async def test_save_copy_and_log_group(
    live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    groups: list[str] = []

    def recording(vars: Any, group: str) -> Any:
        groups.append(group)
        return canned(CANNED)(vars, group)

    app = make_app(live, session, use_git=False, services={**services, "log_source": recording})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == 4)
        await pilot.press("w")
        saved = list((Path(session.dir) / "logs").glob("saved-eb-engine.log-*.log"))
        assert len(saved) == 1
        assert "[i-0bbb] 2026/11/26 02:30:02 [ERROR]" in saved[0].read_text(encoding="utf-8")
        await pilot.press("y")
        assert app.clipboard.splitlines()[0].startswith("[i-0aaa] 2026/11/26 02:30:00 [INFO]")
        await pilot.press("g")
        await wait_for(pilot, lambda: groups == ["eb-engine.log", "web.stdout.log"])
        assert (pane.status_text, pane.group) == (
            "Streaming web.stdout.log of live-prod (eb logs --stream)", "web.stdout.log")


async def test_error_and_warn_lines_are_highlighted(
    live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    from rich.style import Style

    app = make_app(live, session, use_git=False,
                   services={**services, "log_source": canned(CANNED)})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == 4)
        log = pane.query_one(PaneLog)

        def colours(y: int, word: str) -> set[Any]:
            strip = log._render_line_strip(y, Style())
            return {seg.style.color for seg in strip if word in seg.text and seg.style}

        info_colour = colours(0, "Executing")
        warn_colour = colours(1, "pip")
        error_colour = colours(2, "An error")
        assert info_colour != warn_colour and info_colour != error_colour
        assert warn_colour != error_colour
        assert log.get_component_rich_style("pane-log--error").color in error_colour


async def test_a_flood_drawn_while_following_is_whole_when_scrolled_up(
    live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    """Only the newest lines of a big batch are drawn while following; scrolling up (or pausing)
    shows every line of the buffer, in order, with nothing missing."""
    app = make_app(live, session, use_git=False,
                   services={**services, "log_source": canned([("i-0aaa", "first")])})
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_pane(pilot, app)
        await wait_for(pilot, lambda: len(shown(app)) == 1)
        log = pane.query_one(PaneLog)
        pane.ingest([LogLine("i-0aaa", None, f"flood {n}") for n in range(5000)])
        await wait_for(pilot, lambda: shown(app)[-1:] == ["[i-0aaa] flood 4999"])
        await pilot.pause(0.1)
        assert log.is_vertical_scroll_end
        log.scroll_home(animate=False)
        await pilot.pause(0.1)
        pane.ingest([LogLine("i-0aaa", None, "after")])
        await wait_for(pilot, lambda: shown(app)[-1:] == ["[i-0aaa] after"])
        expected = ["[i-0aaa] first", *(f"[i-0aaa] flood {n}" for n in range(5000)),
                    "[i-0aaa] after"]
        assert shown(app) == expected
        assert log.scroll_y == 0  # the operator still sees the top
        assert pane.unseen == 1


def test_pane_lines_of_one_instance_and_of_several_read_the_same() -> None:
    from rsdeploy_tui.ui.widgets.log_pane import pane_lines

    def slow(batch: list[LogLine]) -> list[str]:
        return [f"[{i}] {t}" if i else t for i, _g, t in batch]

    for batch in (
        [LogLine("i-1", "g", "a"), LogLine("i-1", "g", ""), LogLine("i-1", "g", "c [x] b'y'")],
        [LogLine("i-1", "g", "a"), LogLine("i-2", "g", "b"), LogLine(None, "g", "c")],
        [LogLine(None, None, "no instance"), LogLine(None, None, "at all")],
        [],
    ):
        joined, lines = pane_lines(batch)
        assert lines == slow(batch) and joined == "\n".join(slow(batch))
