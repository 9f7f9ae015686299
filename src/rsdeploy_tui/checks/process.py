"""The app's side of the check process (``checks/worker.py``): hand a check over, await it.

``CheckProcess.run(check_type, params, ctx)`` returns what ``registry.run_check`` returns for the
same check in this process: a redacted ``CheckResult``, never an exception (cancellation aside:
cancelling the call cancels the check over there). The process starts on the first call (or
``warm``) and again after it ended; a process that cannot start or that ends with checks in
hand makes each of them an ``error`` result saying so, with the last line it wrote to stderr:
a check that did not finish proves nothing.

Nothing here blocks the event loop: the process is started and read with asyncio, and only
small pickled frames cross.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections import deque
from pathlib import Path
from typing import Any

from rsdeploy_tui.checks.registry import CheckContext, CheckResult, redact_result, redact_with
from rsdeploy_tui.checks.worker import context_fields, frame, read_frame

STDERR_LINES = 5
"""Lines of the process's stderr kept, for the error when it ends unexpectedly."""


class CheckProcess:
    """One check process for the app, started when first needed."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Future[asyncio.subprocess.Process] | None = None
        self._pending: dict[int, asyncio.Future[CheckResult]] = {}
        self._numbers = itertools.count(1)
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # ------------------------------------------------------------------ calls
    async def run(self, check_type: str, params: dict[str, Any], ctx: CheckContext
                  ) -> CheckResult:
        """The check's result, from the process (redacted with ``ctx.redact`` here too)."""
        try:
            process = await self._started()
        except OSError as exc:
            return CheckResult("error", f"the check process could not start: {exc}")
        number = next(self._numbers)
        answer: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        self._pending[number] = answer
        try:
            try:
                self._send(process, ("run", number, check_type, dict(params),
                                     context_fields(ctx)))
            except OSError:
                return CheckResult("error", "the check process ended before this check could "
                                   "start: nothing was proven")
            result = await answer
        except asyncio.CancelledError:
            if number in self._pending:
                # a process that just ended has nothing left to cancel: the cancellation
                # goes on, it must not turn into an OSError
                with contextlib.suppress(OSError):
                    self._send(process, ("cancel", number))
            raise
        finally:
            self._pending.pop(number, None)
        if result.status == "error":  # may quote the process's stderr: every mask, here
            return redact_result(result, ctx)
        # The process masked what the context's environment and secret names hold, as
        # run_check does; the session's redactor (values it learned) lives here.
        return redact_with(result, ctx.redact)

    async def warm(self, types: set[str], ca_file: str = "") -> None:
        """Start the process if needed and have it import what these check types need."""
        if not types or self._closed:
            return
        with contextlib.suppress(OSError):  # the first check says why it cannot start
            self._send(await self._started(), ("warm", sorted(types), ca_file))

    async def close(self) -> None:
        """End the process (its running checks are cancelled there)."""
        self._closed = True
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError, RuntimeError):
                process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    # ------------------------------------------------------------------ process
    async def _started(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        if self._closed:
            raise OSError("the app is leaving")
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        starting = self._starting  # shared by every check asking while the process starts
        try:
            return await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _start(self) -> asyncio.subprocess.Process:
        import rsdeploy_tui

        env = dict(os.environ)
        # the package this app runs from, whatever the working directory or installation
        package_root = str(Path(rsdeploy_tui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self._stderr.clear()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rsdeploy_tui.checks.worker", env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=2**26)
        self._process = process
        self._watch(self._read_results(process))
        self._watch(self._read_stderr(process))
        return process

    def _watch(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send(self, process: asyncio.subprocess.Process, message: Any) -> None:
        if process.stdin is None or process.stdin.is_closing():
            raise OSError("the check process is not running")
        process.stdin.write(frame(message))

    async def _read_results(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while (message := await read_frame(process.stdout)) is not None:
            _, number, result = message
            answer = self._pending.pop(number, None)
            if answer is not None and not answer.done():
                answer.set_result(result)
        code = await process.wait()
        if self._process is process:
            self._process = None
        self._fail_pending(code)

    async def _read_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self._stderr.append(line.decode("utf-8", errors="replace").rstrip())

    def _fail_pending(self, code: int) -> None:
        """The process ended with checks in hand: each is an error, never a silent pass."""
        last = next((line for line in reversed(self._stderr) if line.strip()), "")
        why = f"exit {code}" if code >= 0 else f"signal {-code}"
        reason = (f"the check process ended ({why}) before this check finished: nothing was "
                  "proven" + (f"; it said: {last[:300]}" if last else ""))
        for number in list(self._pending):
            answer = self._pending.pop(number)
            if not answer.done():
                answer.set_result(CheckResult("error", reason))
