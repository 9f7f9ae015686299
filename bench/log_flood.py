"""Log flood benchmark (headless part): how fast ``stream_eb_logs`` ingests `eb logs --stream`.

Streams N lines (default 300,000, ~100 characters each) from the fake eb in flood mode and prints
lines per second for:
  raw     reading the same subprocess output in 64 KiB chunks and splitting lines, no parsing
  parsed  ``stream_eb_logs``: bytes-literal decoding, sanitizing, level detection, LogLine objects
and the ratio (the issue's target for the full pane is at least 40% of raw).

Usage: python bench/log_flood.py [--lines N] [--repeat R]
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"log flood: {args.lines:,} lines of ~100 chars from the fake eb, best of {args.repeat}")
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in (("raw", read_raw), ("parsed", read_parsed)):
            count, seconds = await fn(args.lines)
            rate = count / seconds
            best[name] = max(best.get(name, 0.0), rate)
            print(f"  {name:<7} {count:>9,} lines in {seconds:6.2f} s = {rate:>12,.0f} lines/s")
    ratio = best["parsed"] / best["raw"]
    print(f"best raw    {best['raw']:>12,.0f} lines/s")
    print(f"best parsed {best['parsed']:>12,.0f} lines/s  ({ratio:.0%} of raw; pane target >= 40%)")


if __name__ == "__main__":
    asyncio.run(main())
