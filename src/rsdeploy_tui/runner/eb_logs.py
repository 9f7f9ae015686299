"""``eb logs --stream``: parse its real output and keep it running.

The EB CLI prints, through a pipe (see tool-facts 4.1):

```
 -- /aws/elasticbeanstalk/rs-prod/var/log/eb-engine.log -- (Ctrl+C to exit)


============= i-0abc - /aws/elasticbeanstalk/rs-prod/var/log/eb-engine.log ==============

[i-0abc] b'2026/11/26 02:30:00.1 [INFO] Executing instruction: StageApplication'
```

The message is a Python bytes literal (non-ASCII and ANSI escaped as ``\\xNN``), printed with
``b"..."`` quotes when the message holds a ``'`` and no ``"``.
"""

from __future__ import annotations

import ast
import asyncio
import codecs
import contextlib
import os
import re
import time
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.runner.output import MAX_LINE, sanitize

LOG_GROUPS: dict[str, str | None] = {
    "eb-engine.log": None,  # what `eb logs --stream` shows by default: the deployment engine
    "web.stdout.log": "var/log/web.stdout.log",  # the Django/gunicorn output
}
"""Log choices offered to the operator -> the ``--log-group`` argument (None = eb's default)."""

_HEADER = re.compile(r"^=+ (\S+) - (.+?) =+$")
_PROMPT = re.compile(r"^ ?-- (.+) -- \(Ctrl\+C to exit\)$")
# Checked in this order: the worst level named anywhere in the line wins (cheap `in` tests;
# a regex per line costs more than the rest of the parsing together in a flood).
_LEVEL_WORDS = (
    ("ERROR", "ERROR"),
    ("CRITICAL", "ERROR"),
    ("FATAL", "ERROR"),
    ("Traceback", "ERROR"),
    ("WARN", "WARN"),
    ("INFO", "INFO"),
)
# A chunk of a flood made only of printable-ASCII log lines without a backslash is parsed by
# C-level string calls instead of a loop per line: split on the repeated ``'\n[i-xxx] b'`` when
# the whole chunk is one instance's batch (eb prints each instance's lines under its header),
# else one ``findall`` of this (``.*`` is the fastest thing ``re`` matches).
_PLAIN_LINE = re.compile(r"^\[([^\]\n]*)\] b'(.*)'$", re.M)
_ASCII_CONTROLS = bytes(range(0x20)).replace(b"\n", b"") + b"\x7f"


class LogLine(NamedTuple):
    """One line of an environment log, from ``eb logs`` or CloudWatch (a tuple: cheap to make)."""

    instance: str | None
    """EC2 instance id (the log stream name), None when unknown."""
    group: str | None
    """CloudWatch log group the line came from, when known."""
    text: str
    """The decoded, sanitized text (SGR colours kept)."""

    @property
    def level(self) -> str | None:
        """ERROR, WARN or INFO when the text says so, else None.

        Derived on demand: the pane colours lines itself, so a flood never pays for it.
        """
        return detect_level(self.text)


_new_log_line = partial(tuple.__new__, LogLine)
"""``LogLine`` from a 3-tuple, without a Python call per line (``map`` over ``zip``)."""


class LogSourceError(RsdeployError):
    """A log source stopped; ``fix`` says what the operator can do about it.

    Attributes:
        fix: A command or setting that cures a known cause, or None.
        retryable: False when restarting cannot help (no ``eb`` on PATH, directory not set up).
    """

    def __init__(
        self, title: str, message: str, *, fix: str | None = None, retryable: bool = True
    ) -> None:
        super().__init__(title, message)
        self.fix = fix
        self.retryable = retryable


def _plain_chunk(text: str) -> bool:
    """No escapes anywhere (no backslash) and printable ASCII but for the newlines."""
    if "\\" in text or not text.isascii():
        return False
    raw = text.encode("ascii")
    return len(raw.translate(None, _ASCII_CONTROLS)) == len(raw)


def _one_instance_bodies(text: str) -> list[str] | None:
    """The payloads of a chunk whose every line is ``[<same instance>] b'<payload>'``, else None.

    The chunk is known plain (``_plain_chunk``): a ``b'...'`` payload then holds no ``'`` (repr
    escapes it, or quotes with ``"``), so the lines are exactly the pieces between the
    separators ``'\\n[i-xxx] b'`` when there is one separator per newline.
    """
    end = text.find("] b'")
    if text[:1] != "[" or end < 0 or "]" in text[1:end] or "\n" in text[:end]:
        return None
    prefix = text[:end + 4]
    separator = "'\n" + prefix
    if text[-1] != "'" or text.count(separator) != text.count("\n"):
        return None
    return text[len(prefix):-1].split(separator)


def detect_level(text: str) -> str | None:
    """ERROR / WARN / INFO: the worst level word in the line (upper case, as loggers print
    them; ``Traceback`` counts as ERROR), else None."""
    for word, level in _LEVEL_WORDS:
        if word in text:
            return level
    return None


def decode_payload(token: str) -> str:
    """Turn ``b'...'`` / ``b"..."`` (a Python bytes repr) into text; other text comes back as is.

    Never raises: a token that is not a valid literal comes back unchanged.
    """
    if len(token) < 3 or token[0] != "b" or token[1] not in "'\"" or token[-1] != token[1]:
        return token
    body = token[2:-1]
    if "\\" not in body:
        return body  # the repr of plain ASCII: nothing to unescape
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes like \q warn; keep them as text
            # The C unescaper of bytes literals; much faster than ast.literal_eval in a flood.
            # Raw non-ASCII (not in a real repr, but harmless) goes in as its UTF-8 bytes.
            raw = codecs.escape_decode(body.encode("utf-8", "replace"))[0]  # type: ignore[attr-defined]
    except (ValueError, UnicodeError):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(token)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return token
        if not isinstance(value, bytes):
            return token
        raw = value
    return raw.decode("utf-8", "replace")


def readable_lines(lines: list[str]) -> list[str]:
    """Output of ``eb logs`` as a person reads it: each ``[i-xxx] b'...'`` line decoded (escapes,
    UTF-8; a payload with newlines becomes several lines); every other line as it is."""
    out: list[str] = []
    for line in lines:
        head, sep, payload = line.partition("] ")
        if not (sep and head[:1] == "[" and payload[:1] == "b" and payload[1:2] in ("'", '"')):
            out.append(line)
            continue
        text = decode_payload(payload.rstrip("\r"))
        out.extend(f"{head}] {sanitize(part)}" for part in text.split("\n"))
    return out


class EbLogParser:
    """Stateful parser of ``eb logs --stream`` output lines (remembers the current log group)."""

    def __init__(self, group: str | None = None) -> None:
        self.group = group
        self.tool_lines: list[str] = []
        """Recent lines that are not log lines (eb's own messages), for diagnosing a failure."""

    def feed_text(self, text: str) -> list[LogLine]:
        """Parse a chunk of whole lines (joined by newlines); returns the log lines among them.

        Same result as ``feed(text.split("\\n"))``; a chunk made only of plain log lines (a
        flood) takes a fast path without a Python loop per line.
        """
        if not _plain_chunk(text):
            return self.feed(text.split("\n"))
        instances: Iterable[str]
        bodies: Sequence[str]
        one = _one_instance_bodies(text)
        if one is not None:
            instances, bodies = repeat(text[1:text.index("]")]), one
        else:
            plain = _PLAIN_LINE.findall(text)
            if not plain or len(plain) != text.count("\n") + 1:
                return self.feed(text.split("\n"))
            instances, bodies = zip(*plain, strict=True)
        if max(map(len, bodies)) > MAX_LINE:
            return self.feed(text.split("\n"))
        return list(map(_new_log_line, zip(instances, repeat(self.group), bodies)))

    def feed(self, lines: Iterable[str]) -> list[LogLine]:
        """Parse lines (without newlines); returns the log lines among them."""
        result: list[LogLine] = []
        group = self.group
        append = result.append
        for line in lines:
            head, sep, payload = line.partition("] ")
            if sep and head[:1] == "[":
                instance = head[1:]
                payload = payload.rstrip("\r")
                if payload[:2] == "b'" and payload[-1:] == "'" and "\\" not in payload:
                    text = payload[2:-1]  # plain ASCII: the common case, no call needed
                else:
                    text = decode_payload(payload)
                if "\n" in text:
                    for part in text.split("\n"):
                        part = sanitize(part)
                        append(LogLine(instance, group, part))
                    continue
                if len(text) > MAX_LINE or not text.isprintable():
                    text = sanitize(text)
                append(LogLine(instance, group, text))
                continue
            stripped = line.strip()
            if not stripped:
                continue
            header = _HEADER.match(stripped)
            if header:
                group = self.group = header.group(2)
                continue
            prompt = _PROMPT.match(line.rstrip())
            if prompt:
                group = self.group = prompt.group(1)
                continue
            # Anything else is eb talking (errors, warnings): kept to explain why it stopped.
            self.tool_lines = [*self.tool_lines[-19:], sanitize(line.rstrip(), keep_colour=False)]
        return result


def diagnose(exit_code: int | None, tool_lines: list[str], env_name: str) -> LogSourceError:
    """Turn a dead ``eb logs`` into a sentence, with the fix for the failures we know."""
    said = " ".join(tool_lines)
    last = next((line for line in reversed(tool_lines) if line.strip()), "")
    if "Instance log streaming is disabled" in said:
        return LogSourceError(
            "Log streaming is disabled",
            f"Elastic Beanstalk does not stream instance logs of {env_name} to CloudWatch, so "
            "there is nothing to follow.",
            fix="eb logs --cloudwatch-logs enable   (an environment update; takes minutes)",
        )
    if exit_code == 126 or "has not been set up with the EB CLI" in said:
        return LogSourceError(
            "EB CLI not initialized here",
            "eb needs an .elasticbeanstalk/config.yml in the working directory.",
            fix="run `eb init` in the project directory, or set the var log_source: cloudwatch",
            retryable=False,
        )
    if "credentials" in said.lower():
        return LogSourceError(
            "No AWS credentials",
            f"eb logs could not authenticate: {last}",
            fix="configure credentials (AWS_PROFILE, `aws configure`, or an instance role)",
        )
    code = "ended" if exit_code == 0 else f"exited with code {exit_code}"
    return LogSourceError("Log stream stopped", f"eb logs --stream {code}. {last}".strip())


async def stream_eb_logs(
    env_name: str,
    log_group: str | None = None,
    *,
    eb: str = "eb",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    chunk: int = 65536,
) -> AsyncGenerator[list[LogLine], None]:
    """Run ``eb logs --stream`` through a pipe and yield parsed lines in batches.

    Ends by raising ``LogSourceError`` when eb exits (diagnosed, with a fix when known); the
    subprocess is always terminated and awaited when the iteration stops. Use it under
    ``contextlib.aclosing`` if you may break out of the loop early.

    Args:
        env_name: The Elastic Beanstalk environment.
        log_group: ``--log-group`` value (e.g. ``var/log/web.stdout.log``); None = eb's default.
        eb: The eb executable.
        env: Extra environment variables for eb.
        cwd: Working directory (eb needs its ``.elasticbeanstalk`` directory there).
        chunk: Bytes per read.

    Raises:
        LogSourceError: eb is missing, or it exited.
    """
    args = ["logs", "--stream", env_name]
    if log_group:
        args += ["--log-group", log_group]
    child_env = dict(os.environ)
    child_env.update(env or {})
    try:
        proc = await asyncio.create_subprocess_exec(
            eb,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,  # not ours to get the terminal's Ctrl+C
        )
    except FileNotFoundError:
        raise LogSourceError(
            "eb not found",
            f"The Elastic Beanstalk CLI ({eb}) is not installed or not on PATH.",
            fix="pip install awsebcli, or set the var log_source: cloudwatch",
            retryable=False,
        ) from None
    except PermissionError as exc:
        raise LogSourceError("eb cannot run", f"{eb}: {exc.strerror}.", retryable=False) from None
    parser = EbLogParser()
    assert proc.stdout is not None
    pending = b""
    try:
        while True:
            data = await proc.stdout.read(chunk)
            if not data:
                break
            data = pending + data
            cut = data.rfind(b"\n")
            if cut == -1:
                pending = data
                continue
            pending = data[cut + 1 :]
            batch = parser.feed_text(data[:cut].decode("utf-8", "replace"))
            if batch:
                yield batch
        if pending:
            batch = parser.feed([pending.decode("utf-8", "replace")])
            if batch:
                yield batch
        code = await proc.wait()
        raise diagnose(code, parser.tool_lines, env_name)
    finally:
        await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Terminate (then kill) a subprocess and await it, so nothing is left behind."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=3)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


@datarecord(frozen=True)
class SourceStatus:
    """What the log source is doing, for the pane's status line."""

    state: str
    """``streaming`` (lines arrive), ``retrying`` (died, restarts in ``retry_in`` s) or
    ``stopped`` (a failure restarting cannot cure)."""
    title: str
    message: str
    fix: str | None = None
    retry_in: float | None = None


async def supervise(
    make_source: Callable[[], AsyncGenerator[list[LogLine], None]],
    *,
    backoff: tuple[float, ...] = (1, 2, 5, 10, 30, 60),
    healthy_after: float = 30.0,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[list[LogLine] | SourceStatus]:
    """Keep a log source alive: restart it with backoff when it dies, and say why.

    Yields batches of ``LogLine`` and ``SourceStatus`` notices (check with ``isinstance``).
    A source that ran ``healthy_after`` seconds before dying restarts after the first delay
    again. Stops (after a ``stopped`` status) when the failure cannot be cured by restarting.
    """
    attempt = 0
    while True:
        started = clock()
        announced = False
        try:
            async with contextlib.aclosing(make_source()) as source:
                async for batch in source:
                    if not announced:
                        announced = True
                        yield SourceStatus("streaming", "Streaming", "Log lines are arriving.")
                    yield batch
            error = LogSourceError("Log stream ended", "The log source ended by itself.")
        except LogSourceError as exc:
            error = exc
        except OSError as exc:
            error = LogSourceError("Log source failed", f"{type(exc).__name__}: {exc}")
        if not error.retryable:
            yield SourceStatus("stopped", error.title, error.message, error.fix)
            return
        if clock() - started >= healthy_after:
            attempt = 0
        delay = backoff[min(attempt, len(backoff) - 1)]
        attempt += 1
        yield SourceStatus("retrying", error.title, error.message, error.fix, retry_in=delay)
        await sleep(delay)
