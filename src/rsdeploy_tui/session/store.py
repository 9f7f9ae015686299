"""The session store: one directory per session under the state dir.

```
<state dir>/sessions/<id>/events.jsonl   the journal: the truth, one JSON event per line
                          session.json   snapshot for fast listing (rebuilt when in doubt)
                          lock           who drives the session (pid, host, user, since)
                          events.jsonl.torn-<time>   torn tails set aside after a crash
```
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rsdeploy_tui import locations
from rsdeploy_tui.errors import RsdeployError, UsageError
from rsdeploy_tui.session.conflicts import (
    SIDE_PREFIX,
    PendingConflicts,
    SideFile,
    apply_decision,
    undecided,
)
from rsdeploy_tui.session.events import Event, iso, utc_now
from rsdeploy_tui.session.journal import (
    JOURNAL_NAME,
    JournalWriter,
    SessionDamaged,
    read_journal,
    set_aside,
    storage_error,
)
from rsdeploy_tui.session.lock import LOCK_NAME, SessionLock, current_holder
from rsdeploy_tui.session.redact import Redactor, secret_var_values
from rsdeploy_tui.session.remembered import Remembered
from rsdeploy_tui.session.session import (
    SECRET_DIGESTS,
    Session,
    checklist_identity,
    meta_from,
    summary_of,
)
from rsdeploy_tui.session.snapshot import (
    SessionSummary,
    read_snapshot,
    remove_stale_temps,
    snapshot_summary,
)
from rsdeploy_tui.session.state import derive_state

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session.shared.lease import Claim, Lease
    from rsdeploy_tui.session.shared.store import LocalSync, SharedStore


def default_operator(explicit: str | None = None) -> str:
    """``--operator`` when given, else $SUDO_USER (the person behind sudo), else $USER."""
    if explicit:
        return explicit
    from_env = os.environ.get("SUDO_USER") or os.environ.get("USER")
    if from_env:
        return from_env
    try:
        import getpass  # rarely reached: not imported at start-up

        return getpass.getuser()  # $LOGNAME, else the password database
    except (OSError, KeyError):
        return "unknown"


def ssh_origin() -> str | None:
    """Client address of the SSH connection this process runs under ($SSH_CONNECTION)."""
    fields = os.environ.get("SSH_CONNECTION", "").split()
    return fields[0] if fields else None


def new_session_id(moment: datetime) -> str:
    """Sortable id: UTC time plus a short random suffix, ``20261126T023000Z-a1b2``."""
    # os.urandom, as secrets.token_hex does, without importing secrets (and hmac) at start-up
    return f"{iso(moment)[:19].replace('-', '').replace(':', '')}Z-{os.urandom(2).hex()}"


class SessionStore:
    """Creates, opens and lists sessions.

    Args:
        root: Folder holding one directory per session (default: ``locations.sessions_dir()``).
        clock: Returns the current UTC time (tests pass a fixed clock).
    """

    def __init__(self, root: Path | None = None,
                 clock: Callable[[], datetime] | None = None,
                 shared: SharedStore | str | None = "configured") -> None:
        self.root = Path(root) if root is not None else locations.sessions_dir()
        self.clock = clock or utc_now
        # the shared store on S3 (#18): --store / RSDEPLOY_STORE / config ``store:``, for the
        # default root only (a store on an explicit folder is local unless given one)
        self.shared: SharedStore | None = (
            _configured_shared() if shared == "configured" and root is None
            else shared if not isinstance(shared, str) else None)

    def create(self, checklist: Checklist, vars: Mapping[str, str] | None = None,
               operator: str | None = None) -> Session:
        """Start a new session on ``checklist``: takes the lock, records ``session_created``."""
        operator = default_operator(operator)
        _refuse_huge_vars(vars or {})
        if self.shared is not None:
            self.shared.bucket  # noqa: B018 - a refused store URL/endpoint stops before any file
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for _ in range(20):
                directory = self.root / new_session_id(self.clock())
                try:
                    directory.mkdir(mode=0o700)
                    break
                except FileExistsError:
                    continue
            else:
                raise RsdeployError("Cannot create a session",
                                    f"No free session id in {self.root}.")
        except OSError as error:
            raise storage_error(error, self.root, "create a session directory in") from None
        # digests of the secret values in hand, so a resume elsewhere still masks them
        remembered = Remembered.new()
        redactor = Redactor(checklist.secrets, remembered=remembered)
        redactor.add_values(secret_var_values(vars or {}))
        redactor.remember_new()
        lock = SessionLock(directory, redactor.text(operator), iso(self.clock()))
        writer = None
        try:
            writer = JournalWriter(directory / JOURNAL_NAME, 0)
            identity = checklist_identity(checklist)
            first = Event(1, "session_created", iso(self.clock()), redactor.text(operator),
                          socket.gethostname(), None, redactor.value({
                              **identity, "vars": dict(vars or {}),
                              "secrets": list(checklist.secrets), "ssh_from": ssh_origin(),
                              # the login behind the operator name: a plain resume by the same
                              # login keeps the name (commands/tui.py)
                              "login": default_operator()})
                          | {SECRET_DIGESTS: remembered.record()})
            writer.append(first)
        except BaseException:
            if writer is not None:
                writer.close()
            lock.release()
            _remove_unstarted(directory)
            raise
        session = Session(directory, [first], operator=operator, read_only=False, lock=lock,
                          writer=writer, clock=self.clock)
        session.redactor.add_values(secret_var_values(vars or {}))  # in memory only
        session.write_snapshot(wait=True)  # listed at once, even by another process
        if self.shared is not None:
            try:
                lease, _claim = self.shared.claim(session.id, operator, take_over=False)
                self.shared.attach(session, lease, 0)
            except BaseException:
                session.close()
                raise
        return session

    def open(self, session_id: str, operator: str | None = None, read_only: bool = False,
             take_over: bool = False) -> Session:
        """Open a session; unless read-only, take its lock and record the resume.

        Records ``session_resumed`` (or ``lock_taken_over`` when the previous holder did not let
        go: its process is gone, or it was on another host and ``take_over`` was given).

        Raises:
            SessionLocked: another live process drives it (``.holder`` says who).
            SessionDamaged, NewerSession, RsdeployError: the files cannot be trusted or read.
        """
        operator = default_operator(operator)
        if self.shared is not None:
            return self._open_shared(session_id, operator, read_only, take_over)
        return self._open(self.directory(session_id), operator, read_only, take_over)

    def _open(self, directory: Path, operator: str, read_only: bool, take_over: bool,
              lease: Lease | None = None, claim: Claim | None = None, *,
              deciding: bool = False) -> Session:
        session_id = directory.name
        if read_only:
            loaded = read_journal(directory / JOURNAL_NAME)
            read_snapshot(directory)  # refuses a snapshot from a newer version
            if not loaded.events:
                raise _never_started(directory)
            holder = current_holder(directory / LOCK_NAME)
            if holder is not None and loaded.torn:
                loaded.warnings.clear()  # most likely the holder's append in progress
            return Session(directory, loaded.events, operator=operator, read_only=True,
                           lock=None, writer=None, clock=self.clock, warnings=loaded.warnings,
                           holder=holder)
        # the session's own secret names are not known before its journal is read
        lock = SessionLock(directory, Redactor().text(operator), iso(self.clock()),
                           take_over=take_over, session_id=session_id)
        try:
            remove_stale_temps(directory)
            synced = (self.shared.sync_local(directory, claim) if self.shared is not None
                      else None)
            journal = directory / JOURNAL_NAME
            loaded = read_journal(journal)
            waiting = undecided(directory, loaded.events)
            fresh = synced is not None and synced.side_file is not None
            if waiting and (fresh or not deciding):
                lock.release()  # both sides' events are kept; the operator decides
                if lease is not None:
                    lease.release()
                return self._deciding_later(directory, operator, waiting, synced)
            snapshot = read_snapshot(directory)
            # a well-formed snapshot merely behind the journal (crash between the two writes)
            # is normal; only a malformed one is worth a warning
            snapshot_ok = snapshot is not None and isinstance(snapshot.get("journal_size"), int) \
                and snapshot_summary(snapshot, snapshot["journal_size"]) is not None
            if not loaded.events:
                raise _never_started(directory)
            if loaded.torn:
                set_aside(journal, loaded, iso(self.clock()).replace(":", ""))
            warnings = loaded.warnings
            if not snapshot_ok:
                warnings.append(f"{directory / 'session.json'} was missing or unreadable; it "
                                "was rebuilt from the journal.")
            writer = JournalWriter(journal, loaded.good_size)
        except BaseException:
            lock.release()
            raise
        session = Session(directory, loaded.events, operator=operator, read_only=False,
                          lock=lock, writer=writer, clock=self.clock, warnings=warnings)
        try:
            if self.shared is not None and synced is not None:
                session.warnings.extend(synced.warnings or ())
                self.shared.attach(session, lease, synced.shared or 0)
            previous = lock.previous
            if claim is not None and claim.previous is not None and claim.how != "released":
                lease_was = claim.previous
                session.record("lock_taken_over", from_pid=lease_was.pid,
                               from_host=lease_was.host, from_user=lease_was.holder,
                               from_since=lease_was.since, ssh_from=ssh_origin(),
                               lease=claim.how, lease_expires=lease_was.expires,
                               **({"reason": claim.reason} if claim.reason else {}))
            elif previous is not None:
                session.record("lock_taken_over", from_pid=previous.pid, from_host=previous.host,
                               from_user=previous.user, from_since=previous.since,
                               ssh_from=ssh_origin(), login=default_operator())
            else:
                session.record("session_resumed", by=operator, host=session.host,
                               ssh_from=ssh_origin(), login=default_operator())
            if not snapshot_ok:  # the warning says it was rebuilt: so it is, on return
                session.write_snapshot(wait=True)
        except BaseException:
            session.close()
            raise
        return session

    def _deciding_later(self, directory: Path, operator: str, waiting: list[SideFile],
                        synced: LocalSync | None) -> Session:
        """The session read-only, offering the decision on its side files (it follows the
        store meanwhile)."""
        viewer = self._open(directory, operator, True, False)
        if synced is not None:
            viewer.warnings.extend(synced.warnings or ())
        if synced is None or synced.side_file is None:
            names = ", ".join(str(side.path) for side in waiting)
            viewer.warnings.append(
                f"Events set aside after a conflict between machines wait for your decision "
                f"({names}): the session is open read-only until then (the dialog here, or "
                f"`rsdeploy-tui conflicts {directory.name}`).")
        if self.shared is not None:
            viewer.follow_shared = self.shared.follow
            viewer.shared_store = self.shared
        session_id = directory.name
        viewer.conflicts = PendingConflicts(
            waiting, lambda name, choice, seqs, take_over: self.decide_conflict(
                session_id, name, choice, seqs, operator=operator, take_over=take_over))
        return viewer

    def decide_conflict(self, session_id: str, name: str, choice: str,
                        seqs: list[int] | None = None, *, operator: str | None = None,
                        take_over: bool = False) -> Session:
        """Decide on the side file ``name`` of a session and return it open for writing.

        ``choice``: ``rerecord`` (``seqs``: the events' numbers in the side file, None for
        all) or ``keep_store``. The session is opened by the normal rules (its lease, its lock,
        ``take_over``), the decision recorded (``session.conflicts.apply_decision``); the side
        file stays where it is.

        Raises:
            UsageError: no undecided side file of that name, a bad choice or event number.
            SessionLocked: somebody else drives it (without ``take_over``).
            RsdeployError: the store cannot be reached, or the session cannot be opened.
        """
        operator = default_operator(operator)
        if self.shared is not None:
            _valid_id(session_id)
            lease, claim = self.shared.claim(session_id, operator, take_over)
            if claim is None:
                lease.release()
                raise RsdeployError("Shared store unreachable", f"The shared store "
                                    f"{self.shared.url} does not answer: decide once it does "
                                    "(the decision goes on top of its journal).")
            try:
                directory = self.shared.ensure_directory(self.root, session_id)
                session = self._open(directory, operator, False, take_over, lease, claim,
                                     deciding=True)
            except BaseException:
                lease.release()
                raise
        else:
            session = self._open(self.directory(session_id), operator, False, take_over,
                                 deciding=True)
        try:
            if session.read_only:  # the store moved on again: a new side file
                raise RsdeployError("Not decided", " ".join(session.warnings))
            waiting = undecided(session.dir, session.events)
            side = next((s for s in waiting if s.name in (name, f"{SIDE_PREFIX}{name}",
                                                          f"{JOURNAL_NAME}.{name}")), None)
            if side is None:
                named = ", ".join(s.name for s in waiting) or "none"
                raise UsageError("No such side file", f"Session {session_id} has no undecided "
                                 f"side file '{name}' (undecided: {named}).")
            apply_decision(session, side, choice, seqs)
            left = undecided(session.dir, session.events)
        except BaseException:
            session.close()
            raise
        if left:  # another side file waits: read-only again until that one is decided too
            session.close()
            return self._deciding_later(session.dir, operator, left, None)
        return session

    def _open_shared(self, session_id: str, operator: str, read_only: bool,
                     take_over: bool) -> Session:
        """Open a session of the shared store: take its lease, bring the local copy up to the
        store's events, then open it as usual (a read-only one follows the store)."""
        assert self.shared is not None
        _valid_id(session_id)
        if read_only:
            return self._view_shared(session_id, operator)
        lease, claim = self.shared.claim(session_id, operator, take_over)
        try:
            existed = (self.root / session_id).is_dir()
            directory = self.shared.ensure_directory(self.root, session_id)
            try:
                return self._open(directory, operator, False, take_over, lease, claim)
            except SessionDamaged:
                if not existed:
                    _remove_unstarted(directory)
                    raise RsdeployError("No such session", f"There is no session {session_id} in "
                                        f"{self.shared.url} nor in {self.root}.") from None
                raise
        except BaseException:
            lease.release()
            raise

    def _view_shared(self, session_id: str, operator: str) -> Session:
        """A read-only session following the store's events (the local copy when offline)."""
        from rsdeploy_tui.session.shared.bucket import Unreachable

        assert self.shared is not None
        shared = self.shared
        try:
            # the store's events, as a viewer's first poll reads them (lease, then journal)
            events, holder = shared.look(session_id, [])
        except Unreachable as error:
            viewer = self._open(self.directory(session_id), operator, True, False)
            viewer.warnings.append(f"{error.message} Showing this machine's copy.")
            viewer.shared_store = shared
            return viewer
        if not events:
            raise RsdeployError("No such session", f"There is no session {session_id} in "
                                f"{shared.url}.")
        viewer = Session(self.root / session_id, events, operator=operator, read_only=True,
                         lock=None, writer=None, clock=self.clock, holder=holder)
        viewer.follow_shared = shared.follow
        viewer.shared_store = shared
        return viewer

    def directory(self, session_id: str) -> Path:
        """The directory of an existing session (RsdeployError when there is none)."""
        if not session_id or "/" in session_id or session_id.startswith("."):
            raise RsdeployError("No such session", f"'{session_id}' is not a session id.")
        directory = self.root / session_id
        try:
            if directory.is_dir():
                return directory
        except OSError as error:
            raise storage_error(error, directory, "read") from None
        raise RsdeployError("No such session", f"There is no session {session_id} in "
                            f"{self.root} (`rsdeploy-tui sessions` lists them).")

    def summary(self, session_id: str) -> SessionSummary:
        """One session's summary, read without taking its lock (snapshot, else the journal)."""
        if self.shared is not None:
            return self.shared.summary(session_id)
        return self._summary(self.directory(session_id))

    def list(self) -> list[SessionSummary]:
        """Every session, newest first, from the snapshots (rebuilt from journals when stale);
        with a shared store, its sessions (from their events in the store)."""
        if self.shared is not None:
            return self.shared.summaries()
        try:
            entries = [p for p in self.root.iterdir()
                       if p.is_dir() and not p.name.startswith(".")]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise storage_error(error, self.root, "list") from None
        summaries = [self._summary(directory) for directory in entries]
        # ids sort by the second they were made in; within a second the creation time decides
        summaries.sort(key=lambda s: (s.id[:16], s.created, s.id), reverse=True)
        return summaries

    def latest(self, active_only: bool = True,
               checklist_name: str | None = None) -> SessionSummary | None:
        """The newest session (active only, by default), optionally of one checklist."""
        for summary in self.list():
            if summary.status == "damaged":
                continue
            if active_only and summary.status != "active":
                continue
            if checklist_name is not None and summary.checklist != checklist_name:
                continue
            return summary
        return None

    def _summary(self, directory: Path) -> SessionSummary:
        try:
            summary = snapshot_summary(read_snapshot(directory),
                                       _size(directory / JOURNAL_NAME))
            if summary is not None:
                return summary
            loaded = read_journal(directory / JOURNAL_NAME)
            if not loaded.events:
                raise _never_started(directory)
            return summary_of(meta_from(directory.name, loaded.events),
                              derive_state(loaded.events))
        except RsdeployError as error:
            problem = f"{error.title}: {error.message}"
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
            # the load validates every event, so this is a gap in it: still only this session
            problem = (f"Session unreadable: {directory / JOURNAL_NAME} could not be summarised "
                       f"({type(error).__name__}: {error}).")
        return SessionSummary(id=directory.name, checklist="?", operator="?", host="?",
                              created="", updated="", status="damaged", problem=problem)


def _configured_shared() -> SharedStore | None:
    """The shared store this run was given (--store, RSDEPLOY_STORE, config), or None."""
    from rsdeploy_tui.session.shared.url import configured_store

    url = configured_store()
    if url is None:
        return None
    from rsdeploy_tui.session.shared.store import SharedStore

    return SharedStore(url)


def _valid_id(session_id: str) -> None:
    if not session_id or "/" in session_id or session_id.startswith("."):
        raise RsdeployError("No such session", f"'{session_id}' is not a session id.")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
    except OSError as error:
        raise storage_error(error, path, "read") from None


def _refuse_huge_vars(vars: Mapping[str, str]) -> None:
    """Vars are recorded in ``session_created``: a runaway expansion must never reach the disk."""
    from rsdeploy_tui.checklist.vars import MAX_VALUE_CHARS

    for name, value in vars.items():
        if len(str(value)) > MAX_VALUE_CHARS:
            raise RsdeployError(
                "Variable too large",
                f"var '{name}' is {len(str(value)):,} characters, more than {MAX_VALUE_CHARS:,}; "
                "no session was started and nothing was recorded. Check its value (--set, the "
                "config file or the checklist's vars).")


def _remove_unstarted(directory: Path) -> None:
    """Remove a session directory whose first event never reached the journal."""
    if _size(directory / JOURNAL_NAME) > 0:
        return  # something was written: keep it as evidence
    with contextlib.suppress(OSError):  # left behind, it lists as "no events"
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def _never_started(directory: Path) -> SessionDamaged:
    return SessionDamaged(
        "Session has no events",
        f"{directory / JOURNAL_NAME} is empty or missing, so session {directory.name} holds "
        "nothing to resume (it was probably interrupted while being created). Nothing was "
        "changed; start a new session.")
