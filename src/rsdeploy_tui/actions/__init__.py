"""Built-in actions (``action:`` items): database and media backups, verification, version capture.

An action runs as its own process, ``python -m rsdeploy_tui.actions <spec.json>``, started through
the runner's detached ``start_run`` exactly like an item's shell command: it survives a dropped SSH
link, streams progress lines to the run log, and ends with exit code 0 on success. Its results
(the facts to record) are written atomically to ``<run_dir>/<run_id>.result.json``; the app records
them with ``collect_result`` + ``record_facts`` when the run ends (also on resume).

Files of one action run, beside the runner's ``<id>.log`` / ``<id>.exit`` / ``<id>.json``:
``<id>.action.json`` (the spec: type, params, vars, facts, session; never a secret value) and
``<id>.result.json`` (``ActionResult``). No Textual, no boto3/psycopg2 at import time.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.checklist.vars import expand_params
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.runner.wrapper import write_json_atomic

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item
    from rsdeploy_tui.session import Session

ACTION_TYPES = ("db_backup", "media_backup", "verify_backup", "restore_check", "db_restore",
                "capture_version")
"""Every built-in action type (one module each in this package)."""
RUNS_DIRNAME = "runs"
"""Default run directory inside the session directory."""
BACKUPS_DIRNAME = "backups"
"""Where database dumps are written, inside the session directory."""
SPEC_SUFFIX = ".action.json"
RESULT_SUFFIX = ".result.json"


class ActionError(RsdeployError):
    """An action could not be prepared, or its files cannot be read."""


@datarecord(frozen=True)
class ActionResult:
    """What an action run produced, read from its result file."""

    ok: bool
    """True when the action did everything it promises (exit code 0)."""
    type: str
    """Action type (``db_backup`` ...)."""
    summary: str
    """One line for the operator: what was done, or why it failed."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Facts to record as ``fact`` events (name -> value); also on failure when useful."""
    files: list[str] = field(default_factory=list)
    """Files the action wrote (absolute paths), e.g. the dump."""
    cancelled: bool = False
    """The action stopped on SIGINT/SIGTERM (cancel)."""
    interrupted: bool = False
    """The process is gone without a result file (killed, machine rebooted)."""
    item: str | None = None
    """Qualified id of the item the action ran for."""
    run_id: str = ""
    """The run that produced it (fact events carry it, so facts are recorded once)."""


def runs_dir(session: Session) -> Path:
    """The run directory used for actions when the caller gives none."""
    return Path(session.dir) / RUNS_DIRNAME


def spec_path(run_dir: Path, run_id: str) -> Path:
    """Where the spec of run ``run_id`` is written."""
    return run_dir / f"{run_id}{SPEC_SUFFIX}"


def result_path(run_dir: Path, run_id: str) -> Path:
    """Where the action of run ``run_id`` writes its result."""
    return run_dir / f"{run_id}{RESULT_SUFFIX}"


def _package_root() -> str:
    """The directory holding the ``rsdeploy_tui`` package (for PYTHONPATH of the child)."""
    return str(Path(__file__).resolve().parent.parent.parent)


def action_command(item: Item | None, spec_file: Path) -> str:
    """The shell command line that runs an action from its spec file.

    It names only the interpreter, the module and the spec path: no parameter, var or secret.
    """
    del item  # the spec file says everything; kept for a uniform call with commands
    return " ".join(
        shlex.quote(part) for part in (sys.executable, "-m", "rsdeploy_tui.actions", str(spec_file))
    )


def action_env() -> dict[str, str]:
    """Variables added to the child's environment so ``-m rsdeploy_tui.actions`` imports."""
    root = _package_root()
    current = os.environ.get("PYTHONPATH", "")
    parts = [root, *[p for p in current.split(os.pathsep) if p and p != root]]
    return {"PYTHONPATH": os.pathsep.join(parts), "PYTHONUNBUFFERED": "1"}


@datarecord(frozen=True)
class PreparedAction:
    """Everything needed to start an action with the runner's ``start_run``."""

    command: str
    """Shell text for ``start_run`` (no secret in it)."""
    env: dict[str, str]
    """Extra environment for ``start_run(env=...)`` (no secret in it; secrets are inherited)."""
    run_dir: Path
    """Pass as ``start_run``'s ``run_dir``."""
    run_id: str
    """Pass as ``start_run``'s ``run_id``."""
    spec_path: Path
    """The spec file written for the run."""
    display: str
    """What to show and record as the run's command (``action db_backup (format=custom)``)."""


def prepare_action(
    item: Item,
    session: Session,
    vars: Mapping[str, str],
    *,
    facts: Mapping[str, Any] | None = None,
    run_dir: Path | None = None,
    run_id: str | None = None,
    secrets: tuple[str, ...] = (),
    resolved: bool = False,
) -> PreparedAction:
    """Write the spec file of ``item``'s action and return how to start it.

    Args:
        item: An item with ``action``.
        session: The open session (its id and directory go into the spec).
        vars: Resolved checklist vars (``resolve_vars``); facts are merged in (``vars_with_facts``).
        facts: Session facts (default: ``session.state().facts``).
        run_dir: Directory of the run's files (default ``<session dir>/runs``).
        run_id: Run id (default ``runner.new_run_id(item.qid)``).
        secrets: The checklist's secret names (default: the session's).
        resolved: ``vars`` already hold the session's facts (``values.session_values``).

    Raises:
        ActionError: the item has no action or an unknown type.
    """
    from rsdeploy_tui.rollback import vars_with_facts

    if item.action is None:
        raise ActionError("Not an action", f"Item {item.qid} has no 'action:'.")
    if item.action.type not in ACTION_TYPES:
        raise ActionError(
            "Unknown action",
            f"Item {item.qid} asks for action '{item.action.type}'; "
            f"known: {', '.join(ACTION_TYPES)}.",
        )
    if facts is None:
        facts = session.state().facts
    if run_id is None:
        from rsdeploy_tui.runner import new_run_id

        run_id = new_run_id(item.qid)
    run_dir = Path(run_dir) if run_dir is not None else runs_dir(session)
    run_dir.mkdir(parents=True, exist_ok=True)
    secret_names = tuple(secrets or getattr(session.meta, "secrets", ()) or ())
    merged = dict(vars) if resolved else vars_with_facts(vars, facts)
    raw = dict(item.action.params)
    display_params = expand_params(raw, merged, secrets=secret_names, mode="display")
    spec = {
        "v": 1,
        "type": item.action.type,
        "item": item.qid,
        "item_text": item.text,
        "run_id": run_id,
        "run_dir": str(run_dir),
        "session": {"id": session.id, "dir": str(session.dir)},
        # Raw params are expanded in the action process (``${env:...}`` read there, never stored).
        "params": raw,
        "params_display": display_params,
        "vars": dict(merged),
        "facts": _jsonable(dict(facts)),
        "secrets": list(secret_names),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if item.action.type == "db_backup":
        from rsdeploy_tui.actions.common import unique_dump_name

        spec["dump_name"] = unique_dump_name(spec)  # two backups never share a file
    path = spec_path(run_dir, run_id)
    write_json_atomic(path, session.redactor.value(spec) if hasattr(session, "redactor") else spec)
    display = action_display(item, merged, secret_names)
    return PreparedAction(
        command=action_command(item, path),
        env=action_env(),
        run_dir=run_dir,
        run_id=run_id,
        spec_path=path,
        display=display,
    )


def action_display(item: Item, values: Mapping[str, str], secrets: tuple[str, ...] = ()) -> str:
    """The action as shown and recorded in ``command_started``: ``action TYPE (k=v, ...)``,
    params expanded with ``values`` (vars and facts), secrets masked. The detail panel shows
    the same text (a value that is not set reads ``‹name: not set›`` there)."""
    assert item.action is not None
    params = expand_params(dict(item.action.params), values, secrets=secrets, mode="display")
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"action {item.action.type}" + (f" ({shown})" if shown else "")


def _jsonable(value: Any) -> Any:
    """``value`` made JSON-safe (unknown objects become their ``str``)."""
    return json.loads(json.dumps(value, default=str))


def read_spec(run_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The spec of an action run, or None when the run is not an action."""
    try:
        data = json.loads(spec_path(run_dir, run_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def collect_result(run_dir: Path, run_id: str) -> ActionResult | None:
    """The result of an action run that has ended, read from its result file.

    Returns None when the run is not an action (no spec file). A run that left no result file is
    reported as ``interrupted`` with ``describe_interrupted`` as its summary; call this only once
    the run has ended (``runner.run_status(...).running`` is False).
    """
    spec = read_spec(run_dir, run_id)
    if spec is None:
        return None
    kind = str(spec.get("type", "?"))
    item = spec.get("item")
    try:
        data = json.loads(result_path(run_dir, run_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ActionResult(
            ok=False,
            type=kind,
            summary=describe_interrupted(run_dir, run_id),
            interrupted=True,
            item=str(item) if item else None,
            files=[p for p in _planned_files(spec) if Path(p).exists()],
            run_id=run_id,
        )
    return ActionResult(
        ok=bool(data.get("ok")),
        type=kind,
        summary=str(data.get("summary", "")),
        facts=dict(data.get("facts") or {}),
        files=[str(f) for f in data.get("files") or []],
        cancelled=bool(data.get("cancelled")),
        item=str(item) if item else None,
        run_id=run_id,
    )


def record_facts(session: Session, result: ActionResult) -> int:
    """Record every fact of ``result`` as a ``fact`` event (item = the action's item).

    Idempotent per run: facts already recorded for ``result.run_id`` (a resume after the app
    recorded them) are not recorded again. Returns the number of facts recorded now. Facts are
    redacted by ``Session.record``; each event carries ``run`` = the run id.
    """
    if result.run_id and any(
        event.kind == "fact" and event.data.get("run") == result.run_id
        for event in session.events
    ):
        return 0
    for name, value in result.facts.items():
        session.record("fact", item=result.item, name=name, value=value, run=result.run_id)
    return len(result.facts)


def _planned_files(spec: Mapping[str, Any]) -> list[str]:
    """Files an action of this spec writes while it runs (partial files included)."""
    from rsdeploy_tui.actions.common import planned_files

    return planned_files(spec)


def _size(path: Path) -> str:
    from rsdeploy_tui.actions.common import human_bytes

    return human_bytes(path.stat().st_size)


def describe_interrupted(run_dir: Path, run_id: str) -> str:
    """A few sentences on an action that stopped without a result: what it left behind.

    Names every partial file it was writing (kept, not deleted) and where an upload may have
    stopped, so the operator can decide to re-run it.
    """
    spec = read_spec(run_dir, run_id)
    if spec is None:
        return f"Run {run_id} is not an action run (no spec file in {run_dir})."
    kind = str(spec.get("type", "?"))
    what = f"Action {kind} for item {spec.get('item', '?')} was interrupted"
    parts = [f"{what}: its process is gone and it wrote no result, so nothing was recorded."]
    existing = [Path(p) for p in _planned_files(spec) if Path(p).exists()]
    partial = [p for p in existing if p.name.endswith(".part")]
    whole = [p for p in existing if not p.name.endswith(".part")]
    if partial:
        listed = "; ".join(f"{p} ({_size(p)})" for p in partial)
        parts.append(f"Partial files kept: {listed}.")
    if whole:
        listed = "; ".join(f"{p} ({_size(p)})" for p in whole)
        parts.append(f"Finished dump kept (its upload did not complete or was not confirmed): "
                     f"{listed}.")
    if not existing:
        parts.append("It left no partial file.")
    progress = _last_progress(run_dir, run_id)
    if progress:
        parts.append(f"Last progress: {progress}")
    if kind in ("db_backup", "media_backup"):
        parts.append(
            "An upload to S3 may have stopped half-way: an unfinished multipart upload is not an "
            "object and does not count as a backup. Run the item again to make a complete backup."
        )
    else:
        parts.append("Run the item again.")
    return " ".join(parts)


def _last_progress(run_dir: Path, run_id: str) -> str:
    """The last non-empty line of the run log (already masked by the runner)."""
    log = run_dir / f"{run_id}.log"
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 4096))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


__all__ = [
    "ACTION_TYPES",
    "ActionError",
    "ActionResult",
    "PreparedAction",
    "action_command",
    "action_env",
    "collect_result",
    "describe_interrupted",
    "prepare_action",
    "read_spec",
    "record_facts",
    "result_path",
    "runs_dir",
    "spec_path",
]
