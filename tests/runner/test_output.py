"""Output for the pane: sanitized lines, and following a growing run log."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rsdeploy_tui.runner import follow_log, sanitize, start_run, wait_run


def test_sanitize_keeps_colour_strips_the_rest() -> None:
    assert sanitize("plain text") == "plain text"
    assert sanitize("\x1b[1;31mERROR\x1b[0m done") == "\x1b[1;31mERROR\x1b[0m done"
    assert sanitize("\x1b[1;31mERROR\x1b[0m", keep_colour=False) == "ERROR"
    # Cursor moves, clear screen, erase line, OSC window title, charset switch.
    assert sanitize("\x1b[2J\x1b[H\x1b[10;5Hhi\x1b[K") == "hi"
    assert sanitize("\x1b]0;evil title\x07after") == "after"
    assert sanitize("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert sanitize("\x1b(0qqq\x1b(B") == "qqq"
    assert sanitize("\x1bPdevice control\x1b\\x") == "x"
    assert sanitize("dangling \x1b") == "dangling "


def test_sanitize_carriage_returns_and_controls() -> None:
    assert sanitize(" 10%\r 50%\r100% done") == "100% done"
    assert sanitize("windows line\r\n") == "windows line"
    assert sanitize("bell\x07 back\x08space\x00nul") == "bell\ufffd back\ufffdspace\ufffdnul"
    assert sanitize("tab\tkept") == "tab\tkept"
    assert "\x9b" not in sanitize("c1 \x9b2J csi")


def test_sanitize_cuts_long_lines_with_marker() -> None:
    line = "x" * 5000
    out = sanitize(line)
    assert out == "x" * 2000 + " … [cut 3000 chars]"
    assert sanitize("y" * 30, limit=10) == "y" * 10 + " … [cut 20 chars]"
    coloured = "a" * 8 + "\x1b[31m" + "b" * 20
    cut = sanitize(coloured, limit=10)
    # Never half an escape sequence at the cut; colour reset before the marker.
    assert cut.startswith("a" * 8) and "\x1b[3" not in cut.split("\x1b[0m")[0][8:]


async def _collect(path: Path, **kwargs: object) -> list[str]:
    lines: list[str] = []
    async for batch in follow_log(path, poll=0.02, **kwargs):  # type: ignore[arg-type]
        assert batch
        lines.extend(batch)
    return lines


async def test_follow_log_live_until_exit_file(tmp_path: Path) -> None:
    command = (
        "for i in 1 2 3; do echo line $i; sleep 0.1; done; "
        "printf '\\e[2J\\e[32mgreen\\e[0m\\n'; printf 'no newline at end'"
    )
    handle = start_run(tmp_path, command, run_id="f1")
    lines = await asyncio.wait_for(_collect(handle.log_path), timeout=20)
    assert lines == ["line 1", "line 2", "line 3", "\x1b[32mgreen\x1b[0m", "no newline at end"]
    assert wait_run(tmp_path, "f1", timeout=5).exit_code == 0


async def test_follow_log_big_output_in_batches(tmp_path: Path) -> None:
    handle = start_run(tmp_path, "seq 1 50000", run_id="f2")
    batches: list[list[str]] = []
    async for batch in follow_log(handle.log_path, poll=0.02):
        batches.append(batch)
    flat = [line for batch in batches for line in batch]
    assert flat == [str(i) for i in range(1, 50001)]
    assert len(batches) < 1000  # read in blocks, not line by line


async def test_follow_log_stop_event_and_redact(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("token=abc123\npartial")
    stop = asyncio.Event()
    stop.set()
    lines = await _collect(log, stop=stop, redact=lambda s: s.replace("abc123", "****"))
    assert lines == ["token=****", "partial"]


async def test_follow_log_waits_for_file_to_appear(tmp_path: Path) -> None:
    log = tmp_path / "late.log"
    seen: list[str] = []

    async def writer() -> None:
        await asyncio.sleep(0.1)
        log.write_text("first\n")
        await asyncio.sleep(0.1)
        with log.open("a") as fh:
            fh.write("second\n")
        (tmp_path / "late.exit").write_text("{}")

    task = asyncio.create_task(writer())
    seen = await asyncio.wait_for(_collect(log), timeout=10)
    await task
    assert seen == ["first", "second"]


async def test_follow_log_shows_a_waiting_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    log.write_text("done\nContinue? [y/N] ")
    got: list[list[str]] = []

    async def follow() -> None:
        async for batch in follow_log(log, poll=0.01, partial_after=0.05):
            got.append(batch)
            if batch == ["Continue? [y/N] "]:
                with log.open("a") as fh:
                    fh.write("n\n")
                (tmp_path / "p.exit").write_text("{}")

    await asyncio.wait_for(follow(), timeout=10)
    assert got == [["done"], ["Continue? [y/N] "], ["n"]]
