"""`eb logs --stream`: the real output format, and a source that dies, restarts and explains."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rsdeploy_tui.runner.eb_logs import (
    EbLogParser,
    LogLine,
    LogSourceError,
    SourceStatus,
    decode_payload,
    detect_level,
    stream_eb_logs,
    supervise,
)

GROUP = "/aws/elasticbeanstalk/rs-prod/var/log/eb-engine.log"
# Verbatim shape of the EB CLI's output through a pipe (tool-facts 4.1).
SAMPLE = f""" -- {GROUP} -- (Ctrl+C to exit)


============= i-0abc - {GROUP} ==============

[i-0abc] b'2026/11/26 02:30:00.1 [INFO] Executing instruction: StageApplication'
[i-0abc] b'\\x1b[31mred\\x1b[0m \\x1b[2Jcleared'
[i-0abc] b'\\xe2\\x9c\\x93 caf\\xc3\\xa9'
[i-0abc] b"it's b-double-quoted"
[i-0abc] b'both \\'single\\' and "double"'
[i-0abc] b'Traceback (most recent call last):\\n  File "x.py"\\nValueError: boom'
[i-0abc] b'a literal \\\\n stays'
[i-0abc] b'broken literal \\'
[i-0abc] not a bytes literal at all
some junk line from eb
""".split("\n")


def test_parser_decodes_real_format() -> None:
    parser = EbLogParser()
    lines = parser.feed(SAMPLE)
    texts = [line.text for line in lines]
    assert texts == [
        "2026/11/26 02:30:00.1 [INFO] Executing instruction: StageApplication",
        "\x1b[31mred\x1b[0m cleared",  # colour kept, clear-screen dropped
        "\u2713 caf\u00e9",
        "it's b-double-quoted",
        "both 'single' and \"double\"",
        "Traceback (most recent call last):",
        '  File "x.py"',
        "ValueError: boom",
        "a literal \\n stays",
        "b'broken literal \\'",  # not a valid literal: shown raw, no exception
        "not a bytes literal at all",
    ]
    assert {line.instance for line in lines} == {"i-0abc"}
    assert parser.tool_lines == ["some junk line from eb"]  # eb's own words, for diagnosis
    assert all(line.group == GROUP for line in lines)
    assert [line.level for line in lines[:1]] == ["INFO"]
    assert lines[5].level == "ERROR" and lines[7].level is None


def test_parser_group_from_header_changes() -> None:
    parser = EbLogParser()
    lines = parser.feed(
        [
            "============= i-1 - /aws/elasticbeanstalk/e/var/log/web.stdout.log ==============",
            "[i-1] b'WARNING django: slow'",
        ]
    )
    assert lines == [
        LogLine("i-1", "/aws/elasticbeanstalk/e/var/log/web.stdout.log", "WARNING django: slow"),
    ]
    assert lines[0].level == "WARN"


def test_decode_payload_never_raises() -> None:
    for junk in ["b'", "b''", "b'\\x'", "b'\\", "b'\\777'", "b\"'", "x" * 10, "b'\\N{DASH}'"]:
        assert isinstance(decode_payload(junk), str)


def test_detect_level() -> None:
    assert detect_level("2026 [ERROR] failed") == "ERROR"
    assert detect_level("WARNING: disk") == "WARN"
    assert detect_level("[INFO] ok") == "INFO"
    assert detect_level("CRITICAL x") == "ERROR"
    assert detect_level("nothing here, errors lowercase") is None


async def _take(source: AsyncIterator[list[LogLine]], n: int) -> list[LogLine]:
    got: list[LogLine] = []
    async with contextlib.aclosing(source) as lines:
        async for batch in lines:
            got.extend(batch)
            if len(got) >= n:
                break
    return got


async def test_stream_from_fake_eb_fast(
    fake_eb: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    argv_log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "fast")
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "10")
    monkeypatch.setenv("FAKE_EB_ARGV_LOG", str(argv_log))
    lines = await asyncio.wait_for(_take(stream_eb_logs("rs-prod"), 12), timeout=20)
    texts = [line.text for line in lines]
    assert "\u2713 migrations applied \u2014 caf\u00e9 \u65e5\u672c" in texts
    assert 'He said "hi" and it\'s fine' in texts
    assert "it's the other quoting" in texts
    assert {line.instance for line in lines} == {"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"}
    assert any(line.level == "ERROR" for line in lines)
    assert argv_log.read_text().strip() == '["logs", "--stream", "rs-prod"]'


async def test_stream_web_log_group(fake_eb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "4")
    lines = await asyncio.wait_for(
        _take(stream_eb_logs("rs-prod", "var/log/web.stdout.log"), 4), timeout=20
    )
    assert lines[0].group == "/aws/elasticbeanstalk/rs-prod/var/log/web.stdout.log"
    assert "Booting worker" in lines[0].text


async def test_stream_ends_subprocess_on_close(
    fake_eb: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_log = tmp_path / "pids"
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "slow")
    monkeypatch.setenv("FAKE_EB_LOG_INTERVAL", "0.05")
    monkeypatch.setenv("FAKE_EB_PID_LOG", str(pid_log))
    await asyncio.wait_for(_take(stream_eb_logs("rs-prod"), 2), timeout=20)
    (pid,) = (int(p) for p in pid_log.read_text().split())
    # Terminated and awaited: not running, not even a zombie.
    assert not Path(f"/proc/{pid}").exists()


# Disabled streaming and a directory without `eb init` are diagnosed from the real EB CLI's
# words: tests/e2e/test_real_eb_cli.py (test_logs_stream_disabled_..., ..._outside_an_eb_project).


async def test_missing_eb_is_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(LogSourceError) as info:
        await _take(stream_eb_logs("rs-prod", eb=str(tmp_path / "no-such-eb")), 1)
    assert info.value.title == "eb not found"
    assert info.value.retryable is False


async def test_supervisor_restarts_dying_source_with_backoff(
    fake_eb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "die")
    monkeypatch.setenv("FAKE_EB_LOG_LINES", "3")
    delays: list[float] = []

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    statuses: list[SourceStatus] = []
    lines = 0
    events = supervise(lambda: stream_eb_logs("rs-prod"), sleep=no_wait, backoff=(1, 2, 5))
    async with contextlib.aclosing(events) as stream:
        async for item in stream:
            if isinstance(item, SourceStatus):
                statuses.append(item)
                if len([s for s in statuses if s.state == "retrying"]) == 4:
                    break
            else:
                lines += len(item)
    retrying = [s for s in statuses if s.state == "retrying"]
    assert [s.retry_in for s in retrying] == [1, 2, 5, 5]
    assert delays == [1, 2, 5]
    assert "Could not connect to the endpoint URL" in retrying[0].message
    assert lines == 12  # four runs of three lines each
    assert statuses[0].state == "streaming"


async def test_supervisor_stops_when_eb_missing(tmp_path: Path) -> None:
    items = []
    async for item in supervise(lambda: stream_eb_logs("e", eb=str(tmp_path / "nope"))):
        items.append(item)
    assert len(items) == 1
    assert isinstance(items[0], SourceStatus) and items[0].state == "stopped"
    assert "awsebcli" in (items[0].fix or "")


async def test_supervisor_shows_fix_for_disabled(
    fake_eb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EB_LOG_MODE", "disabled")

    async def no_wait(delay: float) -> None:
        return None

    async for item in supervise(lambda: stream_eb_logs("rs-prod"), sleep=no_wait):
        assert isinstance(item, SourceStatus)
        assert item.state == "retrying" and item.title == "Log streaming is disabled"
        assert item.fix and "--cloudwatch-logs enable" in item.fix
        break


def test_chunk_parse_matches_line_parse() -> None:
    """A flood chunk (fast path) and a mixed chunk give what the line-by-line parser gives."""
    plain = [f"[i-0abc] b'2026/11/26 02:30:00.{n:06d} [INFO] request {n}'" for n in range(50)]
    plain[7] = "[i-0abc] b'2026/11/26 02:30:01 [ERROR] boom'"
    mixed = [*plain[:3], "", "============= i-0def - /var/log/web.stdout.log ==============",
             "[i-0def] b'caf\\xc3\\xa9 \\x1b[31mred\\x1b[0m WARN'", "[i-0def] b\"it's\"",
             "[i-0def] b'" + "x" * 2500 + "'", *plain[3:6]]
    for lines in (plain, mixed):
        chunked, by_line = EbLogParser("g"), EbLogParser("g")
        got = chunked.feed_text("\n".join(lines))
        assert got == by_line.feed(lines)
        assert chunked.group == by_line.group
    assert EbLogParser().feed_text("\n".join(plain))[7].level == "ERROR"
    assert EbLogParser().feed_text("\n".join(mixed))[3].text == "café \x1b[31mred\x1b[0m WARN"


@pytest.mark.parametrize(
    "lines",
    [
        ["[i-1] b'one'", "[i-1] b''", "[i-1] b'three ] b'"],  # empty payload, separator-like text
        ["[i-1] b'one'", "[i-2] b'other instance'", "[i-1] b'back'"],
        ["[i-1] b'one'", "[i-1] b'", "[i-1] b'two'"],  # a cut line: not a log line
        ["[i-1] b'one'", "[i-1] b'\n[i-1] b'two'"],
        ["[a]x] b'odd instance'", "[a]x] b'again'"],
        ["[i-1] b'one'", "[i-1] b'two' trailing"],
        ["[i-1] b'one'", "plain eb message"],
        ["[i-1] b'only'"],
    ],
)
def test_one_instance_fast_path_matches_line_parse(lines: list[str]) -> None:
    """Every shape near the one-instance split parses as the line-by-line parser does."""
    text = "\n".join(lines)
    chunked, by_line = EbLogParser("g"), EbLogParser("g")
    assert chunked.feed_text(text) == by_line.feed(text.split("\n"))
    assert chunked.tool_lines == by_line.tool_lines
