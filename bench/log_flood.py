"""Log flood benchmark: how fast `eb logs --stream` gets through the runner and the log pane.

Streams N lines (default 300,000, ~100 characters each) from the fake eb in flood mode and prints
lines per second for:
  raw     reading the same subprocess output in 64 KiB chunks and splitting lines, no parsing
  parsed  ``stream_eb_logs``: bytes-literal decoding, sanitizing, level detection, LogLine objects
  pane    the same stream through the UI's ``LogPane`` in a headless Textual app (``run_test``):
          supervise -> redaction -> bounded buffers -> 20 Hz ``Log.write_lines`` flush, plus the
          session-dir archive file
and the ratio pane/raw (the issue's target: at least 40%), key-press latency p50/p99 while the
pane floods (a key event posted every 20 ms, timed until its binding runs; target p99 < 50 ms),
and RSS growth of the process after streaming --rss-lines lines (default 1,000,000) through the
pane (target < 100 MB).

Usage: python bench/log_flood.py [--lines N] [--repeat R] [--rss-lines M] [--no-pane]
Prints figures; never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from rsdeploy_tui.runner.eb_logs import LogSourceError, stream_eb_logs  # noqa: E402

FAKE_EB = REPO / "tests" / "fake_eb" / "eb"


def flood_env(lines: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{FAKE_EB.parent}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_EB_LOG_MODE"] = "flood"
    env["FAKE_EB_LOG_LINES"] = str(lines)
    return env


async def read_raw(lines: int) -> tuple[int, float]:
    """Lines read from the fake eb with no parsing at all."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        str(FAKE_EB), "logs", "--stream", "bench-env",
        stdout=asyncio.subprocess.PIPE, env=flood_env(lines),
    )  # fmt: skip
    assert proc.stdout is not None
    count = 0
    pending = b""
    while True:
        data = await proc.stdout.read(65536)
        if not data:
            break
        data = pending + data
        parts = data.split(b"\n")
        pending = parts.pop()
        count += len(parts)
    await proc.wait()
    return count, time.perf_counter() - start


async def read_parsed(lines: int) -> tuple[int, float]:
    """LogLines produced by stream_eb_logs from the same command."""
    os.environ.update(flood_env(lines))
    start = time.perf_counter()
    count = 0
    try:
        async for batch in stream_eb_logs("bench-env", eb=str(FAKE_EB)):
            count += len(batch)
    except LogSourceError:
        pass  # flood mode exits 0 at the end: the source reports that it ended
    return count, time.perf_counter() - start


def rss_mb() -> float:
    """Resident set size of this process now (MB), from /proc."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def through_pane(lines: int, keys: bool) -> tuple[int, float, list[float]]:
    """Lines through a LogPane in a headless app; key latencies (s) measured meanwhile."""
    import tempfile

    from textual import events
    from textual.app import ComposeResult
    from textual.binding import Binding

    from rsdeploy_tui.session.redact import Redactor
    from rsdeploy_tui.ui.keyboard import OrderedKeys
    from rsdeploy_tui.ui.widgets.log_pane import LogPane, PaneLog

    os.environ.update(flood_env(lines))
    latencies: list[float] = []
    sent: list[float] = []

    class Host(OrderedKeys[None]):  # the app's own key routing (one key at a time)
        CSS_PATH = str(REPO / "styles" / "live.tcss")
        BINDINGS = [Binding("k", "probe", "probe")]

        def __init__(self, archive: Path) -> None:
            super().__init__()
            self.archive = archive

        def compose(self) -> ComposeResult:
            pane = LogPane(
                {"eb_env": "bench-env"},
                archive_dir=self.archive,
                redactor=Redactor(["DB_PASSWORD"]),
            )
            pane.styles.height = "1fr"
            pane.styles.display = "block"
            yield pane

        def on_mount(self) -> None:
            # As in the app: the pane's log has the focus (a focused Input would eat "k").
            self.query_one(PaneLog).focus()

        def action_probe(self) -> None:
            if sent:
                latencies.append(time.perf_counter() - sent.pop())

    with tempfile.TemporaryDirectory() as tmp:
        app = Host(Path(tmp))
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(LogPane)
            start = time.perf_counter()
            last_key = start
            while pane.received < lines:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                if keys and not sent and now - last_key >= 0.02:
                    last_key = now
                    sent.append(now)
                    # What a terminal key press becomes: a Key event sent by the driver.
                    key = events.Key("k", "k")
                    key.set_sender(app)
                    app._driver.send_message(key)  # type: ignore[union-attr]
                if now - start > 600:
                    break
            while pane._pending:  # what arrived is drawn too
                await asyncio.sleep(0.005)
            seconds = time.perf_counter() - start
            received = pane.received
            pane.workers.cancel_group(pane, "logs")
            await pilot.pause(0.1)
    return received, seconds, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rss-lines",
        type=int,
        default=1_000_000,
        help="lines streamed through the pane for the RSS figure (0: skip)",
    )
    parser.add_argument("--no-pane", action="store_true", help="only raw and parsed")
    args = parser.parse_args()
    print(f"log flood: {args.lines:,} lines of ~100 chars from the fake eb, best of {args.repeat}")
    best: dict[str, float] = {}
    latencies: list[float] = []
    names = ["raw", "parsed"] + ([] if args.no_pane else ["pane"])
    for _ in range(args.repeat):
        for name in names:
            if name == "pane":
                count, seconds, lat = await through_pane(args.lines, keys=True)
                latencies.extend(lat)
            else:
                count, seconds = await (read_raw if name == "raw" else read_parsed)(args.lines)
            rate = count / seconds
            best[name] = max(best.get(name, 0.0), rate)
            print(f"  {name:<7} {count:>9,} lines in {seconds:6.2f} s = {rate:>12,.0f} lines/s")
    ratio = best["parsed"] / best["raw"]
    print(f"best raw    {best['raw']:>12,.0f} lines/s")
    print(f"best parsed {best['parsed']:>12,.0f} lines/s  ({ratio:.0%} of raw)")
    if args.no_pane:
        return
    ratio = best["pane"] / best["raw"]
    print(f"best pane   {best['pane']:>12,.0f} lines/s  ({ratio:.0%} of raw; target >= 40%)")
    print(
        f"key latency during the flood: {len(latencies)} keys, "
        f"p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms (target p99 < 50 ms)"
    )
    if args.rss_lines:
        before = rss_mb()
        count, seconds, _ = await through_pane(args.rss_lines, keys=False)
        after = rss_mb()
        print(
            f"RSS: {before:.0f} MB before, {after:.0f} MB after {count:,} lines through the "
            f"pane in {seconds:.1f} s: growth {after - before:+.0f} MB (target < 100 MB)"
        )


if __name__ == "__main__":
    asyncio.run(main())
