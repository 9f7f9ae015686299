"""Action specs, commands and interrupted runs, without servers."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rsdeploy_tui.actions import (
    ActionError,
    collect_result,
    describe_interrupted,
    prepare_action,
)
from rsdeploy_tui.actions.common import backups_dir, dump_name
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import Session, SessionStore

Bundled = tuple[Checklist, Session, dict[str, str]]


@pytest.fixture
def session_on_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bundled]:
    monkeypatch.setenv("DB_PASSWORD", "canary-Pw-31337")
    checklist = load_checklist()
    values = resolve_vars(checklist, {"backup_bucket": "b"}, config={})
    store = SessionStore(root=tmp_path / "sessions")
    with store.create(checklist, vars=values, operator="tester") as session:
        yield checklist, session, values


def test_the_command_names_only_the_interpreter_the_module_and_the_spec(
        session_on_bundled: Bundled) -> None:
    checklist, session, values = session_on_bundled
    prepared = prepare_action(checklist.item("deploy.db-backup-now"), session, values)
    assert shlex.split(prepared.command) == [sys.executable, "-m", "rsdeploy_tui.actions",
                                             str(prepared.spec_path)]
    assert prepared.run_dir == session.dir / "runs"
    assert prepared.display == "action db_backup (format=plain, name=pre_deployment_backup)"
    spec = json.loads(prepared.spec_path.read_text())
    assert spec["type"] == "db_backup" and spec["item"] == "deploy.db-backup-now"
    assert spec["session"] == {"id": session.id, "dir": str(session.dir)}
    assert "canary-Pw-31337" not in prepared.spec_path.read_text()
    assert "canary-Pw-31337" not in json.dumps(prepared.env)


def test_an_item_without_an_action_is_refused(session_on_bundled: Bundled) -> None:
    checklist, session, values = session_on_bundled
    with pytest.raises(ActionError, match="has no 'action:'"):
        prepare_action(checklist.item("deploy.eb-deploy"), session, values)


def test_an_interrupted_backup_names_what_it_left(session_on_bundled: Bundled) -> None:
    checklist, session, values = session_on_bundled
    prepared = prepare_action(checklist.item("pre.db-backup"), session, values)
    spec = json.loads(prepared.spec_path.read_text())
    folder = backups_dir(spec)
    folder.mkdir(parents=True)
    assert "left no partial file" in describe_interrupted(prepared.run_dir, prepared.run_id)

    (folder / f"{dump_name(spec)}.part").write_bytes(b"x" * 3000)
    text = describe_interrupted(prepared.run_dir, prepared.run_id)
    assert f"Partial files kept: {folder / dump_name(spec)}.part (2.9 KiB)" in text
    assert "multipart upload" in text

    (folder / f"{dump_name(spec)}.part").rename(folder / dump_name(spec))
    result = collect_result(prepared.run_dir, prepared.run_id)
    assert result is not None and result.interrupted and not result.ok
    assert "Finished dump kept" in result.summary
    assert str(folder / dump_name(spec)) in result.summary
    assert result.facts == {}  # nothing is recorded from a run that did not finish


def test_a_run_that_is_not_an_action_has_no_result(tmp_path: Path) -> None:
    assert collect_result(tmp_path, "deploy.eb-deploy-20260101T000000000") is None
