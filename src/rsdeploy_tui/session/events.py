"""Events: the append-only facts a session is made of, and their one-line JSON form."""

from __future__ import annotations

import json
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from rsdeploy_tui.records import datarecord

SCHEMA_VERSION = 1
"""Version written into every journal line, snapshot and lock file; newer versions are refused."""

EVENT_KINDS = frozenset({
    "session_created", "session_resumed", "lock_taken_over", "checklist_changed",
    "tick", "untick", "skip", "fail", "note", "cursor",
    "check_result", "command_started", "command_finished", "run_cancelled",
    "gate_override", "phase_entered", "fact", "rollback_started", "confirmation",
    "session_finished", "session_abandoned",
})
"""Kinds the derived state understands; other kinds are kept in the journal and ignored there."""


def utc_now() -> datetime:
    """The current time in UTC (the store's default clock)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a ``Z``: ``2026-11-26T02:30:00.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@datarecord(frozen=True, slots=True)
class Event:
    """One line of the journal: something that happened, who did it, where and when."""

    seq: int
    """Position in the journal, 1-based and gap-free."""
    kind: str
    """What happened (``tick``, ``note``, ``command_started`` ...)."""
    at: str
    """UTC ISO-8601 time of the event."""
    operator: str
    """Who drove the session when it happened."""
    host: str
    """Host name of the process that wrote it."""
    item: str | None = None
    """Qualified item id (``pre.db-backup``) the event is about, if any."""
    data: dict[str, Any] = field(default_factory=dict)
    """Kind-specific values (already redacted)."""

    def to_line(self) -> bytes:
        """The journal line, newline included."""
        record = {
            "v": SCHEMA_VERSION, "seq": self.seq, "kind": self.kind, "at": self.at,
            "operator": self.operator, "host": self.host, "item": self.item, "data": self.data,
        }
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
                + "\n").encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``--json`` output and reports)."""
        return {"seq": self.seq, "kind": self.kind, "at": self.at, "operator": self.operator,
                "host": self.host, "item": self.item, "data": self.data}


class EventFormatError(ValueError):
    """A journal line is not a valid event (the reason is the message)."""


class NewerSchemaError(ValueError):
    """A journal line was written by a newer rsdeploy-tui (its version is ``.version``)."""

    def __init__(self, version: object) -> None:
        super().__init__(f"schema version {version}")
        self.version = version


def parse_line(line: bytes) -> Event:
    """Parse one journal line (without its newline).

    Raises:
        EventFormatError: not JSON, or fields missing or of the wrong type.
        NewerSchemaError: written by a newer version of rsdeploy-tui.
    """
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise EventFormatError(f"not JSON ({error})") from None
    if not isinstance(record, dict):
        raise EventFormatError("not a JSON object")
    version = record.get("v")
    if not isinstance(version, int):
        raise EventFormatError("no schema version 'v'")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    try:
        seq, kind, at = record["seq"], record["kind"], record["at"]
        operator, host = record["operator"], record["host"]
        item, data = record.get("item"), record.get("data", {})
    except KeyError as error:
        raise EventFormatError(f"field {error} missing") from None
    if not (isinstance(seq, int) and isinstance(kind, str) and isinstance(at, str)
            and isinstance(operator, str) and isinstance(host, str)
            and (item is None or isinstance(item, str)) and isinstance(data, dict)):
        raise EventFormatError("a field has the wrong type")
    return Event(seq, kind, at, operator, host, item, data)
