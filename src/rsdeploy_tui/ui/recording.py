"""What the app records by itself (check results), written in batches off the event loop.

Check results land in bursts: a phase's checks against the same site end within milliseconds
of each other. Written one by one, each result waited for the ones before it: a thread hop, the
session lock and an fsync apiece, with the thread and the loop taking the GIL from each other
at every system call (about 9 ms a result on a 2-core machine while the screen was drawing). Here
the results that arrive while a write is under way go together in the next one:
``Session.record_many``, one write and one fsync for all of them.

Each caller still gets back only once its own event is durable, and exactly what ``record``
would have given it: the event, or the error that refused it (the others of the batch are
recorded all the same, unless the write itself failed).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError

if TYPE_CHECKING:
    from rsdeploy_tui.session import Session
    from rsdeploy_tui.session.events import Event

_Entry = tuple[str, "str | None", "dict[str, Any]", "asyncio.Future[Event]"]


class BatchedRecorder:
    """Queues events from the loop; one task at a time writes them, a batch per thread hop."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._queue: list[_Entry] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, kind: str, item: str | None, data: dict[str, Any]) -> Event:
        """The event, once durable.

        Raises:
            RsdeployError: as ``Session.record`` raises it (read-only, disk, bad data).
            OSError: as ``Session.record`` raises it.
        """
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._queue.append((kind, item, data, future))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_queued())
        return await future

    async def _write_queued(self) -> None:
        batch: list[_Entry] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:  # Session.record_many is thread-safe; a key's record waits its turn
                    outcomes: list[Any] = await asyncio.to_thread(
                        self.session.record_many, [entry[:3] for entry in batch])
                except (RsdeployError, OSError) as error:
                    outcomes = [error] * len(batch)  # nothing of this batch was written
                for (*_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue  # its caller was cancelled (the event is recorded anyway)
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._writer = None
            for *_, future in batch + self._queue:  # the app is closing: nobody waits forever
                future.cancel()
