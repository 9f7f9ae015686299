"""Why the phase list is an OptionList: mount time and cursor speed beside a ListView.

Headless, 60 items (the biggest bundled phase has ~58), the same run for both widgets. Prints
figures; not part of the test run.

    PYTHONPATH=src python bench/item_list.py [--items 60] [--moves 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Label, ListItem, ListView, OptionList
from textual.widgets.option_list import Option


def texts(count: int) -> list[str]:
    return [f"[ ] · Item number {n}: verify something about the deployment" for n in range(count)]


class Bench(App[None]):
    def __init__(self, make: type[Widget], count: int) -> None:
        super().__init__()
        self.make = make
        self.count = count

    def compose(self) -> ComposeResult:
        if self.make is OptionList:
            yield OptionList(*(Option(t, id=f"i{n}") for n, t in enumerate(texts(self.count))))
        else:
            yield ListView(*(ListItem(Label(t)) for t in texts(self.count)))


async def measure(make: type[Widget], count: int, moves: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    app = Bench(make, count)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        mounted = time.perf_counter() - start
        widget = app.query_one(make)
        widget.focus()
        await pilot.pause()
        latencies = []
        for _ in range(moves):
            began = time.perf_counter()
            await pilot.press("down")
            latencies.append(time.perf_counter() - began)
    return mounted, latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    for make in (OptionList, ListView, OptionList, ListView):  # twice: the second is warm
        mounted, lat = await measure(make, args.items, args.moves)
        ms = sorted(x * 1000 for x in lat)
        print(
            f"{make.__name__:<11} {args.items} items: first frame {mounted * 1000:6.1f} ms; "
            f"down key p50 {statistics.median(ms):5.1f} ms  "
            f"p99 {ms[int(len(ms) * 0.99) - 1]:5.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
