"""The lease: who drives a shared session, across machines, by S3 conditional writes.

One object per session (``.../sessions/<id>/lease``): acquired with ``If-None-Match: *``,
renewed every ``RENEW_S`` and released with ``If-Match: <ETag>``, so two machines can never both
believe they hold it. It names the holder, host, pid (and the process's start time, so a reused
pid is not taken for the holder) and when it expires (``TTL_S`` after the last renewal). A live
lease is taken only with ``take_over``; an expired or released one by anybody, and ``Claim``
says which it was so the journal records it. A lease naming this host whose process is gone
counts as expired at once: nobody has to wait a minute, or force it, after a crash here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.session.lock import LockHolder, SessionLocked, process_gone, process_start
from rsdeploy_tui.session.shared.bucket import Bucket, Missing, Precondition
from rsdeploy_tui.session.shared.objects import lease_key

TTL_S = 60.0
"""A lease not renewed for this long is expired: anybody may take it (recorded)."""
RENEW_S = 10.0
"""How often the holder renews its lease."""


class LeaseLost(RsdeployError):
    """The holder's lease was taken over or removed: it must stop writing."""


@datarecord(frozen=True)
class LeaseInfo:
    """What a lease object says."""

    holder: str
    host: str
    pid: int
    token: str
    since: str
    expires: str
    released: bool = False
    proc_start: str | None = None
    """When the holder's process started (``lock.process_start``; None in older leases)."""
    committed: int = 0
    """Events 1..committed were in the store, each following the one before, when the holder
    last wrote its lease: a reader missing one of them sees damage, not an upload in flight."""

    def expired(self, now: datetime) -> bool:
        """Whether it ran out (or was released) by ``now``."""
        try:
            return self.released or datetime.fromisoformat(self.expires) <= now
        except ValueError:
            return True  # an expiry nobody can read protects nothing

    def holder_gone(self) -> str | None:
        """Why this lease's holder is known to be gone: it names this host and its process no
        longer runs here (None: another host, which only its expiry can tell, or it runs)."""
        if self.released or self.host != socket.gethostname():
            return None
        why = process_gone(self.pid, self.proc_start)
        return f"the lease names this host ({self.host}) and {why}" if why else None

    def live(self, now: datetime) -> bool:
        """Whether somebody still drives with it (not released, not expired, not gone)."""
        return not self.expired(now) and self.holder_gone() is None

    def as_holder(self) -> LockHolder:
        """The holder as the local lock names one (for ``SessionLocked`` and the journal)."""
        return LockHolder(pid=self.pid, host=self.host, user=self.holder, since=self.since)


@datarecord(frozen=True)
class Claim:
    """How a lease was taken: from nobody, from a released/expired holder, or over a live one."""

    how: str
    """``new``, ``released``, ``expired`` or ``taken_over``."""
    previous: LeaseInfo | None
    reason: str | None = None
    """Why an ``expired`` lease was free to take (not renewed in time, its process gone)."""


def _parse(body: bytes, where: str) -> LeaseInfo:
    try:
        data = json.loads(body)
        return LeaseInfo(holder=str(data["holder"]), host=str(data["host"]),
                         pid=int(data["pid"]), token=str(data["token"]),
                         since=str(data["since"]), expires=str(data["expires"]),
                         released=bool(data.get("released", False)),
                         proc_start=(str(data["proc_start"]) if data.get("proc_start")
                                     else None),
                         committed=int(data.get("committed") or 0))
    except (ValueError, KeyError, TypeError):
        raise RsdeployError("Shared lease unreadable",
                            f"{where} is not a lease rsdeploy-tui wrote; nothing was changed. "
                            "Remove it by hand once nobody drives the session.") from None


class Lease:
    """This process's lease on one shared session."""

    def __init__(self, bucket: Bucket, session_id: str, operator: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.bucket = bucket
        self.session_id = session_id
        self.key = lease_key(bucket.url, session_id)
        self.where = f"s3://{bucket.url.bucket}/{self.key}"
        self.clock = clock or (lambda: datetime.now(UTC))
        now = self.clock()
        self.info = LeaseInfo(holder=operator, host=socket.gethostname(), pid=os.getpid(),
                              token=uuid.uuid4().hex, since=now.isoformat(),
                              expires=(now + timedelta(seconds=TTL_S)).isoformat(),
                              proc_start=process_start(os.getpid()))
        self.etag: str | None = None
        self.committed = 0
        """The holder's events known to be in the store (written into the lease each time)."""

    def _body(self, *, released: bool = False) -> bytes:
        now = self.clock()
        expires = now if released else now + timedelta(seconds=TTL_S)
        self.info = dataclasses.replace(self.info, expires=expires.isoformat(), released=released,
                                        committed=max(self.committed, self.info.committed))
        return json.dumps(dataclasses.asdict(self.info), sort_keys=True).encode()

    def read(self) -> tuple[LeaseInfo, str] | None:
        """The lease object as it is now, with its ETag (None when there is none)."""
        try:
            body, etag, _meta = self.bucket.get(self.key)
        except Missing:
            return None
        return _parse(body, self.where), etag

    def acquire(self, take_over: bool = False) -> Claim:
        """Take the lease; ``SessionLocked`` when somebody else's is live and not ``take_over``.

        Raises:
            SessionLocked: a live lease of another holder (``.holder`` names it).
            Unreachable, RsdeployError: the store cannot be used.
        """
        for _ in range(20):  # each turn lost a race with another machine: look again
            current = self.read()
            try:
                if current is None:
                    self.etag = self.bucket.put_new(self.key, self._body())
                    return Claim("new", None)
                info, etag = current
                # what the previous holder had put stays the floor a reader checks against
                self.committed = max(self.committed, info.committed)
                if info.token == self.info.token:
                    self.etag = self.bucket.put_if_match(self.key, self._body(), etag)
                    return Claim("new", None)
                gone = info.holder_gone()
                if info.expired(self.clock()) or gone:
                    self.etag = self.bucket.put_if_match(self.key, self._body(), etag)
                    if info.released:
                        return Claim("released", info)
                    return Claim("expired", info, gone or (
                        f"its lease was not renewed and expired at {info.expires[:19]} UTC"))
                if not take_over:
                    raise SessionLocked(
                        "Session is held on another machine",
                        f"{info.as_holder().describe()} holds the shared lease ({self.where}, "
                        f"renewed until {info.expires[:19]} UTC). Open it with --read-only to "
                        "watch, or resume with --take-over to take it (recorded, and the other "
                        "side turns read-only).", info.as_holder())
                self.etag = self.bucket.put_if_match(self.key, self._body(), etag)
                return Claim("taken_over", info)
            except (Precondition, Missing):
                continue
        raise RsdeployError("Shared lease contended", f"{self.where} kept changing while this "
                            "process tried to take it; try again.")

    def renew(self) -> None:
        """Extend the lease by ``TTL_S``; ``LeaseLost`` (saying by whom) when it is not ours.

        Raises:
            LeaseLost: taken over or removed.
            Unreachable, RsdeployError: the store cannot be used (the lease may still be ours).
        """
        if self.etag is None:
            raise LeaseLost("Lease not held", f"This process never held {self.where}.")
        try:
            self.etag = self.bucket.put_if_match(self.key, self._body(), self.etag)
        except (Precondition, Missing):
            self.etag = None
            current = self.read()
            who = (current[0].as_holder().describe() if current is not None
                   else "somebody who removed it")
            raise LeaseLost("Session taken over",
                            f"The shared lease {self.where} is now held by {who}: this "
                            "process stopped writing and the session is read-only here. "
                            "Nothing recorded so far is lost.") from None

    def release(self) -> None:
        """Let go (the object says released, so the next holder's takes it without a record of
        a takeover); a lease already lost is left alone."""
        if self.etag is None:
            return
        try:
            self.bucket.put_if_match(self.key, self._body(released=True), self.etag)
        except (Precondition, Missing):
            pass  # not ours any more: the new holder's lease must stay as it is
        finally:
            self.etag = None
