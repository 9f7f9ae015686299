"""A session as plain data: the ``show --json`` shape, shared by the CLI and reports."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session.redact import Redactor
from rsdeploy_tui.session.session import Session, SessionMeta
from rsdeploy_tui.session.state import ItemState, SessionState

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session.store import SessionStore


def default_session(store: SessionStore) -> tuple[str, str]:
    """The session a command means when it names none: (id, sentence saying which and why).

    The latest active session, else the latest finished one; abandoned and damaged sessions
    are never taken by default (an abandoned rehearsal must not pass for tonight's deployment).
    ``show``, ``report`` and ``values`` use it and print the sentence on stderr.

    Raises:
        RsdeployError: no active or finished session (says what is there and how to name one).
    """
    summaries = store.list()
    for status in ("active", "finished"):
        found = next((s for s in summaries if s.status == status), None)
        if found is not None:
            started = f"{found.created[:10]} {found.created[11:16]}Z" if found.created else "?"
            newer = [s for s in summaries if s.created > found.created and s is not found]
            skipped = (f"; {len(newer)} newer session(s) not taken: "
                       + ", ".join(f"{s.id} ({s.status})" for s in newer[:3])) if newer else ""
            return found.id, (f"no session named: using the latest {status} session {found.id} "
                              f"({found.checklist}, {found.operator}, started {started}){skipped}")
    if summaries:
        listed = ", ".join(f"{s.id} ({s.status})" for s in summaries[:3])
        raise RsdeployError("No active or finished session",
                            f"{store.root} holds no active or finished session, only {listed}. "
                            "Name the one you mean (`rsdeploy-tui sessions` lists them).")
    raise RsdeployError("No sessions yet",
                        f"There are no sessions in {store.root}; start one with `rsdeploy-tui`, "
                        "or set RSDEPLOY_STATE_DIR.")


def recorded_checklist(meta: SessionMeta) -> tuple[Checklist | None, str | None]:
    """Load the checklist file a session follows; returns (checklist or None, note or None).

    The note says why the file could not be used as is (gone, unreadable, changed since).
    A changed file is still returned (texts may differ); a missing or invalid one is not.
    """
    from rsdeploy_tui.checklist import load_checklist  # yaml only when needed

    if not meta.checklist_path:
        return None, "The session does not record its checklist file; item texts are not shown."
    try:
        exists = Path(meta.checklist_path).is_file()
        checklist = load_checklist(meta.checklist_path) if exists else None
    except (RsdeployError, OSError) as error:
        return None, (f"The checklist file {meta.checklist_path} cannot be loaded ({error}); "
                      "showing what the events say, without item texts.")
    if checklist is None:
        return None, (f"The checklist file {meta.checklist_path} is gone; showing what the "
                      "events say, without item texts.")
    if checklist.sha256 != meta.sha256:
        return checklist, (f"The checklist file {meta.checklist_path} changed since the session "
                           "recorded it; item texts are from the current file.")
    return checklist, None


def item_rows(state: SessionState, meta: SessionMeta, checklist: Checklist | None,
              redactor: Redactor | None = None,
              values: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One dict per item: the checklist's items in order, then items only the events know.

    Item texts have ``values`` expanded (display mode; the app's resolver gives them, so values
    set later in the session show too), else the session's recorded vars, and are redacted.
    """
    from rsdeploy_tui.checklist.vars import expand, resolve_vars

    redactor = redactor or Redactor(meta.secrets)
    rows: list[dict[str, Any]] = []
    given = values
    values = dict(given) if given is not None else dict(meta.vars)
    if checklist is not None and given is None:
        # the recorded vars win; defaults fill what the session did not record
        with contextlib.suppress(RsdeployError):
            values = resolve_vars(checklist, meta.vars, config={})
    seen: set[str] = set()
    critical = set(meta.critical)
    if checklist is not None:
        for item in checklist.iter_items():
            seen.add(item.qid)
            text = redactor.text(expand(item.text, values, secrets=meta.secrets))
            rows.append(_row(item.qid, item.phase_id, item.section_id, text, item.critical,
                             state.item(item.qid)))
    for qid in [*meta.items, *state.items]:
        if qid in seen:
            continue
        seen.add(qid)
        rows.append(_row(qid, qid.split(".", 1)[0], None, "", qid in critical, state.item(qid)))
    return rows


def _row(qid: str, phase: str, section: str | None, text: str, critical: bool,
         item: ItemState) -> dict[str, Any]:
    check = item.check
    return {
        "id": qid, "phase": phase, "section": section, "text": text, "critical": critical,
        "state": item.state, "by": item.by, "at": item.at,
        "note": item.notes[-1].text if item.notes else None, "reason": item.reason,
        "check": {"status": check.status, "summary": check.summary, "at": check.at,
                  "stale": item.check_stale}
        if check else None,
        "failing": item.failing,
        "runs": [{"run": r.run, "command": r.command, "started": r.started,
                  "finished": r.finished, "exit_code": r.exit_code} for r in item.runs],
    }


def session_view(session: Session, checklist: Checklist | None,
                 values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``rsdeploy-tui show --json`` document of a session (``values``: see ``item_rows``)."""
    state = session.state(checklist)
    summary = session.summary()
    return {
        "id": session.id, "checklist": session.meta.checklist,
        "operator": session.meta.operator, "host": session.meta.host,
        "status": state.status, "created": session.meta.created, "updated": summary.updated,
        "facts": dict(state.facts),
        "items": item_rows(state, session.meta, checklist, session.redactor, values),
    }
