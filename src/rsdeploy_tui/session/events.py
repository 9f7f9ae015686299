"""Events: the append-only facts a session is made of, and their one-line JSON form."""

from __future__ import annotations

import json
import zlib
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
        """The journal line, newline included, ending with the CRC32 of everything before it.

        ``{...,"data":{...},"crc":"1a2b3c4d"}``: the checksum covers the line as it would be
        without the ``crc`` member (``{...,"data":{...}}``), so it is checked on the raw bytes.
        """
        record = {
            "v": SCHEMA_VERSION, "seq": self.seq, "kind": self.kind, "at": self.at,
            "operator": self.operator, "host": self.host, "item": self.item, "data": self.data,
        }
        body = json.dumps(record, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode("utf-8")
        return body[:-1] + b',"crc":"%08x"}\n' % zlib.crc32(body)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``--json`` output and reports)."""
        return {"seq": self.seq, "kind": self.kind, "at": self.at, "operator": self.operator,
                "host": self.host, "item": self.item, "data": self.data}


class EventFormatError(ValueError):
    """A journal line is not a valid event (the reason is the message)."""


class EventDamaged(EventFormatError):
    """A complete JSON line that is wrong: bad checksum, wrong field type (never a torn write)."""


class NewerSchemaError(ValueError):
    """A journal line was written by a newer rsdeploy-tui (its version is ``.version``)."""

    def __init__(self, version: object) -> None:
        super().__init__(f"schema version {version}")
        self.version = version


_CRC_SUFFIX = b',"crc":"'  # then 8 hex digits and '"}'
_CRC_TAIL = len(_CRC_SUFFIX) + 10
MAX_DEPTH = 64
"""Deepest nesting of lists and dicts accepted inside an event's data (facts, evidence)."""

_TOP_FIELDS = frozenset({"v", "seq", "kind", "at", "operator", "host", "item", "data", "crc"})
_TEXT: tuple[type, ...] = (str,)
_MAYBE_TEXT: tuple[type, ...] = (str, type(None))
_MAYBE_INT: tuple[type, ...] = (int, type(None))
_MAYBE_NUMBER: tuple[type, ...] = (int, float, type(None))
_DICT: tuple[type, ...] = (dict,)
_MAYBE_BOOL: tuple[type, ...] = (bool, type(None))
_TEXTS = "list of text"
_NUMBERS = "list of numbers"
_FLAT = "mapping of text"

# One schema per kind, in one place: the fields the derived state, reports and views read. A
# field may be absent (the readers have defaults); when present it has this type. Other keys are
# kept as they are.
DATA_SCHEMA: dict[str, dict[str, tuple[type, ...] | str]] = {
    "session_created": {"checklist": _TEXT, "path": _MAYBE_TEXT, "sha256": _TEXT,
                        "vars": _FLAT, "secrets": _TEXTS, "items": _TEXTS, "critical": _TEXTS,
                        "ssh_from": _MAYBE_TEXT},
    "checklist_changed": {"checklist": _TEXT, "path": _MAYBE_TEXT, "sha256": _TEXT,
                          "old_sha256": _TEXT, "items": _TEXTS, "critical": _TEXTS,
                          "added": _TEXTS, "removed": _TEXTS},
    "session_resumed": {"by": _TEXT, "host": _TEXT, "ssh_from": _MAYBE_TEXT},
    # lease (shared store): taken_over | expired; reason: why an expired one was free (not
    # renewed in time, its process gone on this host); late: claimed once the store answered
    "lock_taken_over": {"from_pid": _MAYBE_INT, "from_host": _MAYBE_TEXT,
                        "from_user": _MAYBE_TEXT, "from_since": _MAYBE_TEXT,
                        "ssh_from": _MAYBE_TEXT, "lease": _MAYBE_TEXT,
                        "lease_expires": _MAYBE_TEXT, "reason": _MAYBE_TEXT,
                        "late": _MAYBE_BOOL},
    "skip": {"reason": _TEXT},
    "fail": {"reason": _TEXT},
    "cursor": {"qid": _MAYBE_TEXT},
    "note": {"text": _TEXT},
    "check_result": {"status": _TEXT, "summary": _TEXT, "duration_s": _MAYBE_NUMBER,
                     "evidence": _DICT},
    "command_started": {"run": _TEXT, "command": _TEXT, "pid": _MAYBE_INT, "log": _MAYBE_TEXT,
                        "confirmed": _MAYBE_TEXT},
    "command_finished": {"run": _TEXT, "exit_code": _MAYBE_INT, "duration_s": _MAYBE_NUMBER,
                         "tail": _TEXTS},
    "run_cancelled": {"run": _TEXT, "signal": _MAYBE_TEXT, "exit_code": _MAYBE_INT},
    "gate_override": {"phase": _TEXT, "reason": _TEXT},
    "phase_entered": {"phase": _MAYBE_TEXT},
    "fact": {"name": _TEXT},
    "rollback_started": {"reason": _TEXT, "trigger": _MAYBE_TEXT},
    "confirmation": {"text": _TEXT},
    # the lease of a shared session, claimed once the store answered (this process opened
    # while it did not): lease new | released, from whom when released
    "lease_claimed": {"lease": _TEXT, "from_user": _MAYBE_TEXT, "from_host": _MAYBE_TEXT,
                      "opened": _MAYBE_TEXT},
    # the operator's decision on a side file of events set aside after a conflict
    # (session/conflicts.py): decision rerecorded | kept_store, the side file's events by
    # their original numbers
    "conflict_decided": {"file": _TEXT, "sha256": _TEXT, "path": _MAYBE_TEXT,
                         "decision": _TEXT, "rerecorded": _NUMBERS, "set_aside": _NUMBERS,
                         "events": _MAYBE_INT},
}

REREC_SCHEMA: dict[str, tuple[type, ...]] = {
    "file": _TEXT, "sha256": _TEXT, "seq": (int,), "at": _TEXT, "operator": _TEXT,
    "host": _TEXT}
"""Any kind may carry ``rerecorded_from``: the event was recorded again from a side file
(``session/conflicts.py``); the mark names the file and the event's original number, time,
operator and host."""


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _check_data(kind: str, data: dict[str, Any]) -> None:
    """Raise ``EventDamaged`` naming the first field of ``data`` of the wrong type."""
    schema = DATA_SCHEMA.get(kind)
    if schema:
        for name in schema.keys() & data.keys():  # on the load path: only fields present
            _check_field(kind, name, schema[name], data[name])
    mark = data.get("rerecorded_from")
    if mark is not None:
        if not isinstance(mark, dict):
            raise EventDamaged(f"field data.rerecorded_from of a '{kind}' event is "
                               f"{_kind_of(mark)}; expected a mapping")
        for name in REREC_SCHEMA.keys() & mark.keys():
            _check_field(kind, f"rerecorded_from.{name}", REREC_SCHEMA[name], mark[name])
    # iterative, so a hostile depth cannot exhaust the stack here either; flat data (most
    # events) is not walked at all
    stack: list[tuple[object, int]] = [(v, 2) for v in data.values()
                                       if type(v) is dict or type(v) is list]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise EventDamaged(f"data of a '{kind}' event is nested more than {MAX_DEPTH} "
                               "levels deep")
        children = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in children  # type: ignore[union-attr]
                     if type(v) is dict or type(v) is list)


def _check_field(kind: str, name: str, expected: tuple[type, ...] | str, value: object) -> None:
    if expected == _TEXTS:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif expected == _NUMBERS:
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif expected == _FLAT:
        ok = isinstance(value, dict) and all(
            isinstance(v, str | int | float | bool | type(None)) for v in value.values())
    else:
        assert isinstance(expected, tuple)
        ok = isinstance(value, expected) and not (
            isinstance(value, bool) and bool not in expected)
    if not ok:
        want = expected if isinstance(expected, str) else " or ".join(dict.fromkeys(
            _kind_of(t()) for t in expected))
        raise EventDamaged(f"field data.{name} of a '{kind}' event is {_kind_of(value)}; "
                           f"expected {want}")


def check_event(event: Event) -> None:
    """Raise ``EventDamaged`` when ``event`` would not load again (field types, depth)."""
    _check_data(event.kind, event.data)


def _check_crc(line: bytes) -> bool:
    """Whether ``line`` carries a checksum (True) and it matches; EventDamaged when it does not."""
    if not line.endswith(b'"}') or line[-_CRC_TAIL:-10] != _CRC_SUFFIX:
        return False
    try:
        stored = int(line[-10:-2], 16)
    except ValueError:
        raise EventDamaged("its checksum is not readable (the line was changed by hand or the "
                           "disk corrupted it)") from None
    if zlib.crc32(line[:-_CRC_TAIL] + b"}") != stored:
        raise EventDamaged("its checksum does not match its contents (the line was changed "
                           "after it was written: edited by hand or corrupted on disk)")
    return True


def parse_line(line: bytes, *, require_crc: bool = False) -> Event:
    """Parse one journal line (without its newline) and check its checksum and field types.

    Lines written before checksums existed have none and are accepted, unless ``require_crc``
    (an earlier line of the same journal had one, so a missing one means damage).

    Raises:
        EventDamaged: valid JSON but wrong: checksum mismatch, a field of the wrong type.
        EventFormatError: not JSON (a torn write when it is the last line), fields missing.
        NewerSchemaError: written by a newer version of rsdeploy-tui.
    """
    has_crc = _check_crc(line)
    try:
        record = json.loads(line)
    except RecursionError:
        raise EventDamaged(f"it is nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise EventFormatError(f"not JSON ({error})") from None
    if not isinstance(record, dict):
        raise EventDamaged("not a JSON object")
    version = record.get("v")
    if not isinstance(version, int):
        raise EventDamaged("no schema version 'v'")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    if not has_crc and (require_crc or "crc" in record):
        raise EventDamaged("its checksum is missing or misplaced (earlier lines have one)")
    if not _TOP_FIELDS.issuperset(record):
        raise EventDamaged(f"unknown field {sorted(set(record) - _TOP_FIELDS)[0]!r}")
    try:
        seq, kind, at = record["seq"], record["kind"], record["at"]
        operator, host = record["operator"], record["host"]
        item, data = record.get("item"), record.get("data", {})
    except KeyError as error:
        raise EventDamaged(f"field {error} missing") from None
    if not (type(seq) is int and type(kind) is str and type(at) is str  # the common case, fast
            and type(operator) is str and type(host) is str
            and (item is None or type(item) is str) and type(data) is dict):
        for name, value, types in (("seq", seq, (int,)), ("kind", kind, _TEXT),
                                   ("at", at, _TEXT), ("operator", operator, _TEXT),
                                   ("host", host, _TEXT), ("item", item, _MAYBE_TEXT),
                                   ("data", data, _DICT)):
            if not isinstance(value, types) or isinstance(value, bool):
                want = " or ".join(dict.fromkeys(_kind_of(t()) for t in types))
                raise EventDamaged(f"field {name} is {_kind_of(value)}; expected {want}")
    _check_data(kind, data)
    return Event(seq, kind, at, operator, host, item, data)
