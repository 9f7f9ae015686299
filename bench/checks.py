"""Benchmark: 30 checks against local endpoints that each take 0.5 s, run concurrently.

Prints the wall time of the whole run beside the slowest single check of the same run (the
target is <= 1.3x: the checks overlap; serial would be ~30x), at concurrency 30 and at the
default 8. Run: ``python bench/checks.py`` from the repository root (PYTHONPATH=src if the
package is not installed).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "checks")]

from web_servers import SLOW_SECONDS, web_servers  # noqa: E402

from rsdeploy_tui.checklist.model import Check, Item  # noqa: E402
from rsdeploy_tui.checks.registry import CheckContext, run_checks  # noqa: E402

COUNT = 30


async def one_run(base_url: str, ca_file: str, concurrency: int) -> tuple[float, float, int]:
    items = [
        Item(
            id=f"slow-{i}",
            phase_id="post",
            section_id="bench",
            text="slow page",
            check=Check("http", {"url": "${base_url}/slow", "max_seconds": 5}),
        )
        for i in range(COUNT)
    ]
    ctx = CheckContext(vars={"base_url": base_url, "tls_ca_file": ca_file})
    start = time.monotonic()
    results = await run_checks(items, ctx, concurrency=concurrency)
    wall = time.monotonic() - start
    passed = sum(r.status == "pass" for r in results.values())
    return wall, max(r.duration_s for r in results.values()), passed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, web_servers(Path(tmp)) as web:
        asyncio.run(one_run(web.https.url, str(web.ca_file), 4))  # warm-up: imports, TLS
        print(f"{COUNT} http checks over HTTPS, each endpoint sleeps {SLOW_SECONDS} s")
        print(
            f"{'concurrency':>11}  {'wall s':>7}  {'slowest s':>9}  {'wall/slowest':>12}  "
            f"{'wall/endpoint':>13}  {'serial would be':>15}  passed"
        )
        for concurrency in (COUNT, 8):
            wall, slowest, passed = asyncio.run(
                one_run(web.https.url, str(web.ca_file), concurrency)
            )
            print(
                f"{concurrency:>11}  {wall:>7.2f}  {slowest:>9.2f}  {wall / slowest:>11.2f}x  "
                f"{wall / SLOW_SECONDS:>12.2f}x  {COUNT * SLOW_SECONDS:>14.1f}s  "
                f"{passed}/{COUNT}"
            )


if __name__ == "__main__":
    main()
