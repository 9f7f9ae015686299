"""The cyclic garbage collector's full passes run while the operator is not typing.

A full pass scans every object the app keeps (widgets, Textual's render caches, the session):
100-230 ms on the event loop, at whatever moment Python's allocation counters say so, which is
when the app allocates most: while check results land and keys come in (``bench/post_phase.py
--stalls`` showed them as the longest waits of a key). Young collections stay automatic (they
scan only what was just made); full passes run from a timer once no key came for ``IDLE_S``, or
regardless once ``OVERDUE`` of them are owed, so memory stays bounded even under endless typing.

Start-up's objects (Textual, the checklist, the first screen) are frozen once (``gc.freeze``):
they live as long as the app, and no pass needs to scan them again.
"""

from __future__ import annotations

import gc
import time
from typing import Any

IDLE_S = 2.0
"""Seconds without a key after which an owed full pass runs."""

OWED = 10
"""Python's own default: a full pass is owed after this many middle-generation passes."""

OVERDUE = 100
"""Owed this many times over, a full pass runs even while keys come in."""

NEVER = 1 << 30
"""A full-pass threshold Python's counters never reach: only this module runs them."""


class IdleCollector:
    """Install with ``start(app)`` after the first frame; ``key()`` at every key."""

    def __init__(self) -> None:
        self.last_key = time.monotonic()
        self.passes = 0
        """Full passes run (for tests and benches)."""

    def start(self, app: Any) -> None:
        gc.freeze()  # what start-up built stays for good
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        gc.enable()
        app.set_interval(0.5, self.tick, name="idle full collection")

    def key(self) -> None:
        self.last_key = time.monotonic()

    def tick(self) -> None:
        owed = gc.get_count()[2]
        if owed >= OVERDUE or (owed >= OWED and time.monotonic() - self.last_key >= IDLE_S):
            gc.collect()
            self.passes += 1
