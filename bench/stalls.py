"""Where the event loop stalls: a watchdog thread that names what held the loop's thread.

Used by the benchmarks (``--stalls``): every 5 ms the watchdog asks the loop to answer; when it
has not answered within ``threshold`` seconds, it takes the loop thread's stack (the frames below
the loop's own), once per stall. ``report()`` prints the stalls by total time, each with its
innermost frames of this project (or the innermost frames at all when none is ours).

Not a test and not part of the app: a measuring tool.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time
import traceback


class StallWatch:
    """Samples the stack of the loop's thread while the loop does not answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float = 0.03) -> None:
        self.loop = loop
        self.threshold = threshold
        self.thread_id = threading.get_ident()  # created on the loop's thread
        self.stalls: collections.Counter[str] = collections.Counter()
        self.time: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._stop.is_set():
            answered = threading.Event()
            asked = time.perf_counter()
            self.loop.call_soon_threadsafe(answered.set)
            if answered.wait(self.threshold):
                time.sleep(0.005)
                continue
            where = self._where()
            answered.wait(10)
            self.stalls[where] += 1
            self.time[where] += time.perf_counter() - asked

    def _where(self) -> str:
        frame = sys._current_frames().get(self.thread_id)
        if frame is None:
            return "?"
        stack = traceback.extract_stack(frame)
        ours = [f for f in stack if "rsdeploy_tui" in f.filename]
        chosen = (ours[-3:] + stack[-2:]) if ours else stack[-4:]
        return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                           for f in reversed(chosen))

    def report(self, top: int = 15) -> str:
        lines = [f"loop stalls over {self.threshold * 1000:.0f} ms: {sum(self.stalls.values())}, "
                 f"{sum(self.time.values()):.2f} s in all"]
        for where, seconds in self.time.most_common(top):
            lines.append(f"{seconds * 1000:8.0f} ms {self.stalls[where]:4d}x  {where}")
        return "\n".join(lines)
