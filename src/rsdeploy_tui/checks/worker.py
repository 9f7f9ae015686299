"""The check process: the app's checks run here, so their work never holds the app's keys.

In the app's own process a check's work (TLS handshakes, reading and parsing responses on the
event loop; botocore building and parsing requests in threads that take the GIL from it) ran
between the operator's keys: while the 58 checks of the Post-Deployment phase landed, a cursor
key waited 80-500 ms. The app hands each check to this process instead (``CheckProcess`` in
``checks/process.py``), which runs them concurrently on its own event loop, exactly as
``registry.run_check`` runs them in a headless ``rsdeploy-tui check``, and sends each result
back as soon as it is known.

Protocol, on the process's stdin and a private copy of its stdout (fd 1 itself is pointed at
stderr, so a library printing something cannot break a frame): frames of a 4-byte big-endian
length and a pickle.

- to the process: ``("run", id, type, params, context)`` (context: ``context_fields``),
  ``("cancel", id)``, ``("warm", types, ca_file)``;
- from it: ``("result", id, CheckResult)``.

End of stdin (the app is gone, even by kill -9), a hang-up or a terminate cancels every check
still running (a command check's process group is killed, as on a cancel) and ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pickle
import signal
import struct
import sys
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

HEADER = struct.Struct(">I")

# Heavy client libraries per check module: imported before the first check of that family.
_WARM = {"http": ("httpx",), "tls": (), "aws_checks": ("boto3", "botocore.config"),
         "backups": ("boto3", "botocore.config"),
         "database": ("psycopg2",), "local": (), "django": ()}

_AWS_SERVICES = {"eb_health": ("elasticbeanstalk",), "eb_deployed": ("elasticbeanstalk",),
                 "eb_env_vars": ("elasticbeanstalk",), "log_errors": ("logs",),
                 "cloudwatch_alarms": ("cloudwatch",), "db_backup": ("s3",), "s3_object": ("s3",)}
"""The AWS services a check type talks to: their models are parsed while warming up."""


def frame(message: Any) -> bytes:
    """One message as it crosses the pipe."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        return pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None


def warm_imports(type_names: Iterable[str], ca_file: str = "") -> None:
    """Import the check modules (and the libraries they use) for these check types, parse the
    AWS models they need and build the TLS context the web checks share (reading the system CA
    store is 20-70 ms of CPU), so the first check of a family does not pay for them."""
    from rsdeploy_tui.checks.registry import CHECK_TYPES

    names = set(type_names)
    for type_name in names:
        target = CHECK_TYPES.get(type_name)
        if target is None:
            continue
        module = target.split(":")[0]
        importlib.import_module(f"rsdeploy_tui.checks.{module}")
        for library in _WARM.get(module, ()):
            try:
                importlib.import_module(library)
            except ImportError:
                continue  # the check itself reports the missing library as its result
    services = {service for name in names for service in _AWS_SERVICES.get(name, ())}
    if services:
        from rsdeploy_tui.aws import preload

        with contextlib.suppress(Exception):  # the check that needs it reports the problem
            preload(sorted(services))
    web = sys.modules.get("rsdeploy_tui.checks.web")
    if web is not None:
        from rsdeploy_tui.checks.registry import CheckError

        for trusted in {"", ca_file}:
            with contextlib.suppress(CheckError):  # a missing CA file: its check says so
                web.ssl_context(trusted)


def context_fields(ctx: Any) -> dict[str, Any]:
    """What of a ``CheckContext`` crosses to the process: plain data. Earlier results travel
    as their evidence (all a baseline reads); the session's redactor stays in the app, which
    applies it to every result that comes back."""
    results = {}
    for qid, found in ctx.results.items():
        evidence = (found.get("evidence") if isinstance(found, dict)
                    else getattr(found, "evidence", None))
        results[qid] = {"evidence": dict(evidence or {})}
    return {"vars": dict(ctx.vars), "facts": dict(ctx.facts), "results": results,
            "timeout": ctx.timeout, "environ": dict(ctx.environ), "secrets": tuple(ctx.secrets)}


def _use_environment(environ: dict[str, str]) -> None:
    """The app's environment as it was when the check started (boto3 and libpq read the
    process's own): the same checks see the same values as in the app's process."""
    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)


async def _run_one(check_type: str, params: dict[str, Any], fields: dict[str, Any]) -> Any:
    from rsdeploy_tui.checks.registry import CheckContext, run_check

    _use_environment(fields["environ"])
    ctx = CheckContext(vars=fields["vars"], facts=fields["facts"], results=fields["results"],
                       redact=None, timeout=fields["timeout"], environ=fields["environ"],
                       secrets=fields["secrets"])
    item = SimpleNamespace(check=SimpleNamespace(type=check_type, params=params))
    return await run_check(item, ctx)


async def serve(frames_out: int) -> None:
    """Run checks as the app asks, until its end of the pipe closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    running: dict[int, asyncio.Task[None]] = {}
    warming: list[asyncio.Future[None]] = []

    def send(message: Any) -> None:
        data = memoryview(frame(message))
        while data:
            data = data[os.write(frames_out, data):]

    async def one(number: int, check_type: str, params: dict[str, Any],
                  fields: dict[str, Any]) -> None:
        try:
            if warming:  # imports under way: the check would wait on the import lock anyway
                await asyncio.gather(*map(asyncio.shield, warming), return_exceptions=True)
            result = await _run_one(check_type, params, fields)
        except asyncio.CancelledError:
            return  # the app asked; it records nothing for a cancelled check
        finally:
            running.pop(number, None)
        send(("result", number, result))

    # A hang-up or a terminate (the SSH link dropped: the app gets one too) ends the process as
    # the end of stdin does, so command checks (in sessions of their own) are stopped, not left
    # behind.
    serving = asyncio.current_task()
    assert serving is not None
    for signum in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(signum, serving.cancel)
    try:
        while (message := await read_frame(reader)) is not None:
            kind = message[0]
            if kind == "run":
                _, number, check_type, params, fields = message
                running[number] = asyncio.ensure_future(one(number, check_type, params, fields))
            elif kind == "cancel":
                task = running.get(message[1])
                if task is not None:
                    task.cancel()
            elif kind == "warm":
                _, types, ca_file = message
                warming.append(asyncio.ensure_future(
                    asyncio.to_thread(warm_imports, types, ca_file)))
    except asyncio.CancelledError:
        pass
    finally:
        tasks = list(running.values())
        for task in tasks:  # the app is gone: stop what it started
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    # Keys are the app's: Ctrl+C in the terminal is not for this process (the app asks it to
    # cancel); a hang-up ends it as it ends the app.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    frames_out = os.dup(1)
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into a frame
    sys.stdout = sys.stderr
    asyncio.run(serve(frames_out))


if __name__ == "__main__":
    main()
