"""The journal file ``events.jsonl``: durable appends and careful loading.

Appends write one whole line with a single ``os.write`` and fsync before returning, so a crash
can only ever leave a torn *last* line. Loading keeps every complete event; a torn last line is
set aside (by the lock holder only) into a side file; damage anywhere else stops everything with
the file and line named, and nothing is rewritten.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import field, replace
from pathlib import Path

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import (
    SCHEMA_VERSION,
    Event,
    EventDamaged,
    EventFormatError,
    NewerSchemaError,
    parse_line,
)

JOURNAL_NAME = "events.jsonl"


class SessionDamaged(RsdeployError):
    """A session file is damaged in a way that needs a person (the file is left as it is)."""


class NewerSession(RsdeployError):
    """A session file was written by a newer rsdeploy-tui."""


class DiskFull(RsdeployError):
    """The disk (or quota) is full: the event was not recorded."""


class JournalConflict(RsdeployError):
    """The journal changed under its writer (another process appended, or the file was replaced).

    Nothing was appended; the writer must stop and the session becomes read-only.
    """


def storage_error(error: OSError, path: Path, doing: str) -> RsdeployError:
    """An operator-facing error for an OS failure while ``doing`` something with ``path``."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull("Disk full", f"Could not {doing} {path}: no space left on the device. "
                        "Nothing was recorded and the journal is intact; free some space and "
                        "repeat the last action.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RsdeployError("Permission denied", f"Could not {doing} {path}: "
                             f"{error.strerror or error}. Check the owner and mode of the "
                             "session directory (or set RSDEPLOY_STATE_DIR).")
    return RsdeployError("Session storage failed", f"Could not {doing} {path}: "
                         f"{error.strerror or error}.")


@datarecord
class Loaded:
    """The result of reading a journal."""

    events: list[Event]
    """Every complete event, in order."""
    good_size: int
    """Bytes of the journal holding those events (where the next append goes)."""
    torn: bytes = b""
    """Bytes after the last complete event (a write interrupted by a crash)."""
    warnings: list[str] = field(default_factory=list)
    """Sentences for the operator about what was found."""


def read_journal(path: Path) -> Loaded:
    """Read and check every event of a journal without changing anything.

    Each line's checksum and field types are checked. Events numbered out of order because two
    processes once appended at the same time (journals from before the directory lock) are all
    kept, renumbered in file order, with a warning naming the lines.

    Raises:
        SessionDamaged: a line other than a torn last one is not a valid event (checksum,
            types), seq skips events (lines lost), or the file is not a regular file.
        NewerSession: a line was written by a newer rsdeploy-tui.
        RsdeployError: the file cannot be read.
    """
    data = read_regular(path)
    if data is None:
        return Loaded([], 0)
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    events: list[Event] = []
    renumbered: list[int] = []
    offset = 0
    checksummed = False
    for number, line in enumerate(lines, start=1):
        try:
            event = parse_line(line, require_crc=checksummed)
            checksummed = checksummed or (line.endswith(b'"}') and b',"crc":"' in line[-18:])
        except NewerSchemaError as error:
            raise NewerSession(
                "Session from a newer rsdeploy-tui",
                f"{path} line {number} has schema version {error.version}; this rsdeploy-tui "
                f"reads version {SCHEMA_VERSION}. Upgrade rsdeploy-tui to open it.") from None
        except EventDamaged as error:
            raise SessionDamaged(
                "Session journal damaged",
                f"{path} line {number} is corrupted: {error}. Its history cannot be trusted, "
                "so nothing was changed and the file is kept as evidence. Move the session "
                "directory aside to start over; other sessions are not affected.") from None
        except EventFormatError as error:
            # The last complete-looking line: a crash can leave zeros there. A whole line of
            # text ending in a newline is never a torn write once lines carry checksums (one
            # write puts the newline last), so in such a journal it is corruption, named.
            if number == len(lines) and not tail and (not checksummed or line[:1] in (b"", b"\0")):
                tail = line + b"\n"
                break
            raise SessionDamaged(
                "Session journal damaged",
                f"{path} line {number} is not a valid event ({error}). Events after it cannot "
                "be trusted, so nothing was changed and the file is kept as evidence. Move the "
                "session directory aside to start over, or repair that line by hand.") from None
        expected = len(events) + 1
        if event.seq != expected:
            if not 1 <= event.seq < expected:
                # a jump forward: events are missing, and which ones cannot be known
                raise SessionDamaged(
                    "Session journal damaged",
                    f"{path} line {number} holds event number {event.seq} where {expected} "
                    "was expected (lines lost). Nothing was changed and the file is kept as "
                    "evidence.")
            # a number already used: two writers at once; both sides' events are real
            renumbered.append(number)
            event = replace(event, seq=expected)
        events.append(event)
        offset += len(line) + 1
    loaded = Loaded(events, offset, tail)
    if renumbered:
        shown = ", ".join(str(n) for n in renumbered[:10]) + (" ..." if len(renumbered) > 10
                                                               else "")
        loaded.warnings.append(
            f"{path} has {len(renumbered)} events numbered again (line {shown}): two processes "
            "wrote to this session at the same time. Every event is kept, counted in file "
            "order; check the history around those lines.")
    if tail:
        loaded.warnings.append(
            f"{path} ends with an incomplete line ({len(tail)} bytes, a write cut short by a "
            f"crash); the {len(events)} complete events are kept.")
    return loaded


def read_regular(path: Path) -> bytes | None:
    """The bytes of a session file (None when missing); a FIFO or device is refused, not read.

    Raises:
        SessionDamaged: not a regular file.
        RsdeployError: it cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise storage_error(error, path, "read") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise not_regular(path)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise storage_error(error, path, "read") from None
    finally:
        os.close(fd)


def set_aside(path: Path, loaded: Loaded, stamp: str) -> Path:
    """Move a torn tail into ``events.jsonl.torn-<stamp>`` and cut the journal back to whole lines.

    The side file is written and synced before the journal is truncated, so the bytes are never
    lost. Returns the side file.
    """
    side = path.with_name(f"{path.name}.torn-{stamp}")
    try:
        for number in range(2, 100):  # never overwrite earlier evidence
            try:
                fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                break
            except FileExistsError:
                side = path.with_name(f"{path.name}.torn-{stamp}-{number}")
        else:
            raise FileExistsError(errno.EEXIST, "too many torn files", str(side))
        try:
            _write_all(fd, loaded.torn)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.truncate(path, loaded.good_size)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
    except OSError as error:
        raise storage_error(error, side, "set aside the torn end of the journal in") from None
    loaded.warnings[-1:] = [
        f"{path} ended with an incomplete line ({len(loaded.torn)} bytes, a write cut short by "
        f"a crash); it was set aside in {side.name} and the {len(loaded.events)} complete events "
        "are kept."]
    loaded.torn = b""
    return side


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalWriter:
    """Appends events to a journal; each append is on disk when ``append`` returns.

    Before every append the writer checks, under the session lock, that the journal is still the
    file it opened and still ends where its own last event ended (one ``fstat`` and one ``stat``,
    microseconds beside the fsync). Anything else means another process wrote to it or the file
    was replaced: the append is refused (``JournalConflict``) so no seq is ever written twice.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self._size = size
        try:
            # O_NONBLOCK: opening a FIFO put in the journal's place must not hang
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                               | os.O_NONBLOCK, 0o600)
        except OSError as error:
            if error.errno == errno.ENXIO:  # a FIFO nobody reads
                raise not_regular(path) from None
            raise storage_error(error, path, "open for writing") from None
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(self._fd)
            self._fd = -1
            raise not_regular(path)
        os.set_blocking(self._fd, True)
        self._identity = (info.st_dev, info.st_ino)

    @property
    def size(self) -> int:
        """Bytes of whole events in the journal."""
        return self._size

    def append(self, event: Event) -> None:
        """Write one event and fsync it.

        On failure (disk full ...) the journal is cut back to its last whole event, so a half
        line never stays behind, and an ``RsdeployError`` says what happened.

        Raises:
            JournalConflict: the journal is no longer the one this writer owns (nothing written).
            RsdeployError: the disk refused the write.
        """
        self.append_many([event])

    def append_many(self, events: Sequence[Event]) -> None:
        """Write events in one write and one fsync (durable together), as ``append`` does;
        on a failure none of them stays in the journal."""
        if not events:
            return
        data = b"".join(event.to_line() for event in events)
        self._check_unchanged(events[0])
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as error:
            # if even this fails, the torn tail is set aside on the next open, as after a crash
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise storage_error(error, self.path, "append to") from None
        self._size += len(data)

    def _check_unchanged(self, event: Event) -> None:
        try:
            mine = os.fstat(self._fd)
            try:
                current: os.stat_result | None = os.stat(self.path)
            except FileNotFoundError:
                current = None
        except OSError as error:
            raise storage_error(error, self.path, "check") from None
        if current is None or (current.st_dev, current.st_ino) != self._identity:
            raise JournalConflict(
                "Session journal replaced",
                f"{self.path} was deleted or replaced while this session was open, so event "
                f"{event.seq} ('{event.kind}') was not recorded. The session is now read-only "
                "here; every event recorded before is in the file this process had open. Quit "
                "and check the session directory before resuming.")
        if mine.st_size != self._size:
            raise JournalConflict(
                "Another process wrote to this session",
                f"{self.path} grew from {self._size} to {mine.st_size} bytes without this "
                f"process: something else is writing to the session. Event {event.seq} "
                f"('{event.kind}') was not recorded, so no event is numbered twice; the session "
                "is now read-only here. Quit, then resume it once only one rsdeploy-tui drives "
                "it (`rsdeploy-tui sessions` shows who holds it).")

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def not_regular(path: Path) -> SessionDamaged:
    """The error for a FIFO, device or socket where a session file should be."""
    return SessionDamaged(
        "Session file is not a regular file",
        f"{path} is not a regular file (a FIFO, device or socket was put there), so it is not "
        "read. Move it aside and restore the real file; nothing was changed.")
