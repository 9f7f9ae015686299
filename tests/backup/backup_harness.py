"""Harness for the backup/rollback tests: a session on the bundled checklist, actions run for real.

Real parts: the throwaway PostgreSQL (``pg_db``), moto's S3/EB (``aws_env``), the runner's detached
``start_run`` and ``python -m rsdeploy_tui.actions`` as its own process.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rsdeploy_tui.actions import ActionResult, collect_result, prepare_action, record_facts
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.runner import run_status, start_run, wait_run
from rsdeploy_tui.session import Session

BUCKET = "rs-backups-test"


@dataclasses.dataclass
class Deployment:
    """A session on the bundled checklist plus what is needed to run its action items."""

    checklist: Checklist
    session: Session
    vars: dict[str, str]
    env: dict[str, str]
    """Environment for action runs (DB_* of the test database)."""

    def start(self, ref: str, *, env: Mapping[str, str] | None = None,
              params: Mapping[str, Any] | None = None) -> Any:
        """Prepare and start item ``ref``'s action detached (``params`` added to the item's
        action parameters); returns (prepared, handle)."""
        item = self.checklist.item(ref)
        if params:
            assert item.action is not None
            item = dataclasses.replace(item, action=dataclasses.replace(
                item.action, params={**item.action.params, **params}))
        prepared = prepare_action(item, self.session, self.vars)
        self.session.record("command_started", item=item.qid, run=prepared.run_id,
                            command=prepared.display, pid=0, log="", confirmed=None)
        handle = start_run(prepared.run_dir, prepared.command,
                           env={**self.env, **prepared.env, **(env or {})},
                           run_id=prepared.run_id, display=prepared.display,
                           secret_names=self.checklist.secrets)
        return prepared, handle

    def finish(self, prepared: Any) -> tuple[ActionResult, int | None]:
        """Wait for the run, collect and record its facts; returns (result, exit code)."""
        status = wait_run(prepared.run_dir, prepared.run_id, timeout=90)
        assert not status.running, "action still running after 90 s"
        result = collect_result(prepared.run_dir, prepared.run_id)
        assert result is not None
        record_facts(self.session, result)
        self.session.record("command_finished", item=result.item, run=prepared.run_id,
                            exit_code=status.exit_code, duration_s=0.0, tail=[])
        return result, status.exit_code

    def run(self, ref: str, **kw: Any) -> tuple[ActionResult, int | None]:
        """Start item ``ref``'s action and wait for it."""
        prepared, _ = self.start(ref, **kw)
        return self.finish(prepared)

    def log(self, prepared: Any) -> str:
        """The run's log text."""
        return (prepared.run_dir / f"{prepared.run_id}.log").read_text(errors="replace")

    @property
    def facts(self) -> dict[str, Any]:
        """The session's facts now."""
        return dict(self.session.state().facts)

    def status(self, prepared: Any) -> Any:
        """The runner's view of a run."""
        return run_status(prepared.run_dir, prepared.run_id)


def all_files(*roots: Path) -> Iterator[Path]:
    """Every regular file under the roots."""
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if path.is_file():
                    yield path
