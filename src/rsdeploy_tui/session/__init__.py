"""Sessions: durable event journal, snapshot, lock, derived state and redaction (no Textual).

See ``docs/internals.md`` ("Session ... contract") for the public API.
"""

from __future__ import annotations

from rsdeploy_tui.session.events import SCHEMA_VERSION, Event, iso, utc_now
from rsdeploy_tui.session.journal import DiskFull, NewerSession, SessionDamaged
from rsdeploy_tui.session.lock import LockHolder, SessionLocked
from rsdeploy_tui.session.redact import MASK, Redactor
from rsdeploy_tui.session.session import ChecklistChange, ReadOnlySession, Session, SessionMeta
from rsdeploy_tui.session.snapshot import SessionSummary
from rsdeploy_tui.session.state import (
    CheckRecord,
    GateOverride,
    ItemState,
    Note,
    Rollback,
    RunRecord,
    SessionState,
    derive_state,
)
from rsdeploy_tui.session.store import SessionStore, default_operator, ssh_origin

__all__ = [
    "MASK", "SCHEMA_VERSION", "CheckRecord", "ChecklistChange", "DiskFull", "Event",
    "GateOverride", "ItemState", "LockHolder", "NewerSession", "Note", "ReadOnlySession",
    "Redactor", "Rollback", "RunRecord", "Session", "SessionDamaged", "SessionLocked",
    "SessionMeta", "SessionState", "SessionStore", "SessionSummary", "default_operator",
    "derive_state", "iso", "ssh_origin", "utc_now",
]
