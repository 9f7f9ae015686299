"""One process drives a session: an OS lock (flock) plus a lock file saying who holds it.

On one host the flock is authoritative: while the holder lives nobody else gets it, and when the
holder dies (SSH link dropped, app killed) the kernel releases it. The flock that decides is taken
on the session *directory* itself, which an operator cannot delete while the session exists:
removing a "stale" ``lock`` file never lets a second writer in (the lock file is flocked too, so
an older rsdeploy-tui holding only that one still keeps this one out). The lock file's contents
(pid, host, user, since) tell a second process who holds it, and tell the next holder that the
previous one did not release cleanly. Across hosts (a shared home directory) flock may not be
shared, so a lock file naming another host is only taken over when asked to.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
from dataclasses import asdict
from pathlib import Path

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.events import SCHEMA_VERSION

LOCK_NAME = "lock"


@datarecord(frozen=True)
class LockHolder:
    """Who holds (or held) a session's lock."""

    pid: int
    """Process id of the holder."""
    host: str
    """Host name of the holder."""
    user: str
    """Operator of the holder."""
    since: str
    """UTC ISO-8601 time the lock was taken."""

    def describe(self) -> str:
        """``ana on bastion-1 (pid 4242) since 2026-11-26 02:30 UTC``."""
        since = str(self.since)
        if len(since) >= 16 and since[10:11] == "T":  # ISO from the lock file
            since = f"{since[:10]} {since[11:16]} UTC"
        return f"{self.user} on {self.host} (pid {self.pid}) since {since}"


class SessionLocked(RsdeployError):
    """Another process drives this session; ``.holder`` says who."""

    def __init__(self, title: str, message: str, holder: LockHolder | None) -> None:
        super().__init__(title, message)
        self.holder = holder


def pid_alive(pid: int) -> bool:
    """Whether a process with that id exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (None: not readable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    rest = stat[stat.rfind(")") + 2:].split()
    return rest if len(rest) > 19 else None


def process_start(pid: int) -> str | None:
    """When process ``pid`` started: ``<boot id>/<clock ticks since boot>`` (Linux /proc).

    A pid is reused once its process is gone; the start time tells the holder from a newcomer
    with its number (the boot id, from a process of an earlier boot). None off Linux or when
    the process cannot be read.
    """
    fields = _proc_stat(pid)
    if fields is None:
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
    except OSError:
        boot = "?"
    return f"{boot}/{fields[19]}"


def process_gone(pid: int, started: str | None) -> str | None:
    """Why process ``pid`` (started at ``started``, from ``process_start``) no longer runs on
    this host, or None while it may: a sentence for the journal ("its process ... is gone").

    Without a start time to compare (an older holder's record, not Linux, /proc hidden) only a
    pid that does not exist at all, or a zombie, counts as gone.
    """
    if not pid_alive(pid):
        return f"its process (pid {pid}) is gone"
    fields = _proc_stat(pid)
    if fields is not None and fields[0] in ("Z", "X"):
        return f"its process (pid {pid}) has ended (not yet reaped by its parent)"
    now = process_start(pid)
    if started and now is not None and now != started:
        return (f"its process (pid {pid}) is gone: that pid now belongs to another process, "
                "started later")
    return None


def read_holder(path: Path) -> LockHolder | None:
    """The holder written in a lock file (None when empty, released, missing or unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a FIFO there must not hang a listing
        raw = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
        return LockHolder(int(record["pid"]), str(record["host"]), str(record["user"]),
                          str(record["since"]))
    except (ValueError, KeyError, TypeError):
        return None


def flock_holder(directory: Path) -> LockHolder | None:
    """Who holds the flock on ``directory``, from ``/proc/locks`` (Linux), when the lock file
    cannot say (deleted or emptied under a live holder). None when nobody does or unknown."""
    try:
        info = os.stat(directory)
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            table = handle.read()
    except OSError:
        return None
    wanted = (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    for row in table.splitlines():
        fields = row.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue  # "->" rows are waiters, not holders
        try:
            major, minor, inode = fields[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) != wanted:
                continue
            pid = int(fields[4])
            uid = os.stat(f"/proc/{pid}").st_uid
        except (ValueError, OSError):
            continue
        try:
            import pwd  # only here: rarely needed

            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = f"uid {uid}"
        return LockHolder(pid, socket.gethostname(), user, "an unknown time (lock file gone)")
    return None


def current_holder(path: Path) -> LockHolder | None:
    """The holder if it looks alive (same host: its pid exists; other host: assumed alive)."""
    holder = read_holder(path)
    if holder is None:
        return flock_holder(path.parent)
    if holder.host == socket.gethostname() and not pid_alive(holder.pid):
        return None
    return holder


class SessionLock:
    """The lock of one session directory, held until ``release``.

    Attributes:
        previous: The holder that did not release cleanly and was taken over (None normally).
    """

    def __init__(self, directory: Path, user: str, since: str, *, take_over: bool = False,
                 session_id: str = "") -> None:
        self.path = directory / LOCK_NAME
        self.previous: LockHolder | None = None
        name = session_id or directory.name
        self._dir_fd = -1
        try:
            self._dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            # O_NONBLOCK: a FIFO put at the lock path must not hang the open
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK,
                               0o600)
        except OSError as error:
            if self._dir_fd >= 0:
                os.close(self._dir_fd)
            raise RsdeployError("Cannot lock the session",
                                f"Could not open {self.path}: {error.strerror or error}.") from None
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            os.close(self._fd)
            os.close(self._dir_fd)
            raise RsdeployError("Cannot lock the session",
                                f"{self.path} is not a regular file (a FIFO or device was put "
                                "there). Remove it; the session's other files are untouched.")
        try:
            # the directory first: that one cannot be taken away by deleting a file
            self._lock_directory()
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = read_holder(self.path) or flock_holder(directory)
            os.close(self._fd)
            if self._dir_fd >= 0:
                os.close(self._dir_fd)  # closing drops any flock taken on it
            who = holder.describe() if holder else "another process"
            raise SessionLocked(
                "Session in use",
                f"Session {name} is being driven by {who}. Open it read-only "
                "(--read-only, or `rsdeploy-tui show`) or ask them to quit first.",
                holder) from None
        here = socket.gethostname()
        previous = read_holder(self.path)
        if previous is not None and previous.host != here and not take_over:
            self._unlock()
            raise SessionLocked(
                "Session locked from another host",
                f"Session {name} is locked by {previous.describe()}. If that process is gone, "
                "take the session over with --take-over (it is recorded).", previous)
        # same host and the flock was free: the holder is gone (its pid may have been reused)
        self.previous = previous
        self.holder = LockHolder(os.getpid(), here, user, since)
        record = {"schema": SCHEMA_VERSION, **asdict(self.holder)}
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, (json.dumps(record) + "\n").encode(), 0)
            os.fsync(self._fd)
        except OSError as error:
            self._unlock()
            raise RsdeployError("Cannot lock the session", f"Could not write {self.path}: "
                                f"{error.strerror or error}.") from None

    def release(self) -> None:
        """Empty the lock file (a clean release) and drop the OS lock. Idempotent."""
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
        except OSError:
            pass  # the next holder then sees our entry, finds our pid gone and takes over
        self._unlock()

    def _lock_directory(self) -> None:
        """Flock the session directory; OSError when someone else holds it.

        Where directories cannot be flocked (NFS emulates flock with POSIX locks, which need a
        file open for writing) only the lock file's flock is taken, as before.
        """
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise
            os.close(self._dir_fd)
            self._dir_fd = -1

    def _unlock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = -1
        if self._dir_fd >= 0:
            fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
            os.close(self._dir_fd)
            self._dir_fd = -1
