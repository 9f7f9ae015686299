"""The store: create, record, derive, list, resume — what the TUI and the CLI rely on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from session_factory import make_checklist

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import ReadOnlySession, SessionStore


def test_ticks_survive_a_restart(store: SessionStore, checklist: Checklist) -> None:
    session = store.create(checklist, vars={"eb_env": "prod"}, operator="ana")
    session.record("tick", "pre.db-backup")
    session.record("skip", "pre.notify", reason="nobody to tell at 2 a.m.")
    session.close()

    again = SessionStore(store.root).open(session.id, operator="bob")
    state = again.state(checklist)
    assert state.items["pre.db-backup"].state == "done"
    assert state.items["pre.db-backup"].by == "ana"
    assert state.items["pre.notify"].reason == "nobody to tell at 2 a.m."
    assert state.items["deploy.tag"].state == "pending"
    assert state.counts(checklist) == (2, 4, 1)
    assert again.events[-1].kind == "session_resumed"
    assert again.events[-1].operator == "bob"
    assert again.meta.operator == "ana" and again.meta.vars == {"eb_env": "prod"}
    again.close()


def test_id_is_sortable_utc_time(tmp_path: Path, checklist: Checklist) -> None:
    fixed = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    store = SessionStore(tmp_path, clock=lambda: fixed)
    session = store.create(checklist, operator="ana")
    assert session.id.startswith("20261126T023000Z-") and len(session.id) == 21
    assert session.events[0].at == "2026-11-26T02:30:00.000Z"
    session.close()


def test_state_rules(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("command_started", "deploy.eb-deploy", run="r1", command="eb deploy", pid=1)
    assert s.state(checklist).items["deploy.eb-deploy"].state == "running"
    s.record("command_finished", "deploy.eb-deploy", run="r1", exit_code=1, duration_s=2.0,
             tail=["ERROR"])
    item = s.state(checklist).items["deploy.eb-deploy"]
    assert item.state == "failed" and item.runs[0].exit_code == 1
    s.record("tick", "deploy.eb-deploy")
    s.record("check_result", "deploy.eb-deploy", status="fail", summary="502", duration_s=0.1,
             evidence={})
    assert s.state(checklist).items["deploy.eb-deploy"].state == "done"  # done stays done
    s.record("check_result", "pre.notify", status="error", summary="timeout")
    assert s.state(checklist).items["pre.notify"].state == "failed"
    s.record("check_result", "pre.notify", status="pass", summary="ok")
    assert s.state(checklist).items["pre.notify"].state == "pending"  # pass does not tick
    s.record("untick", "deploy.eb-deploy")
    assert s.state(checklist).items["deploy.eb-deploy"].state == "pending"
    s.record("fact", name="previous_version", value="app-v41")
    s.record("phase_entered", phase="deploy")
    s.record("gate_override", phase="deploy", reason="backup verified by hand")
    s.record("rollback_started", reason="5xx", trigger="errors")
    state = s.state()  # checklist-independent parts
    assert state.facts == {"previous_version": "app-v41"}
    assert state.current_phase == "deploy"
    assert state.gate_overrides["deploy"].reason == "backup verified by hand"
    assert state.rollback is not None and state.rollback.trigger == "errors"
    s.record("session_finished")
    assert s.state().status == "finished"
    s.close()


def test_list_and_latest(store: SessionStore, checklist: Checklist) -> None:
    first = store.create(checklist, operator="ana")
    first.record("session_finished")
    first.close()
    second = store.create(checklist, operator="bob")
    second.record("tick", "pre.db-backup")
    listed = store.list()
    assert [s.id for s in listed] == [second.id, first.id]  # newest first
    by_id = {s.id: s for s in listed}
    assert by_id[second.id].done == 1 and by_id[second.id].critical_pending == 1
    assert by_id[first.id].status == "finished"
    latest = store.latest()
    assert latest is not None and latest.id == second.id
    assert store.latest(checklist_name="Other") is None
    second.close()


def test_snapshot_is_small_and_journal_is_the_truth(store: SessionStore,
                                                    checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    for n in range(50):
        s.record("note", "pre.notify", text=f"note {n}")
    assert s.flush_snapshot()  # written off the recording thread, the newest one kept
    snapshot = json.loads((s.dir / "session.json").read_text())
    assert snapshot["schema"] == 1 and snapshot["events"] == 51
    assert len((s.dir / "session.json").read_bytes()) < 1000
    lines = (s.dir / "events.jsonl").read_text().splitlines()
    assert len(lines) == 51 and all(json.loads(line)["v"] == 1 for line in lines)
    s.close()


def test_read_only_cannot_record(store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    viewer = store.open(s.id, read_only=True)
    assert viewer.read_only and viewer.holder is not None and viewer.holder.user == "ana"
    with pytest.raises(ReadOnlySession, match="read-only"):
        viewer.record("tick", "pre.db-backup")
    assert len((s.dir / "events.jsonl").read_text().splitlines()) == 1
    s.close()


def test_changed_checklist_is_explained(tmp_path: Path, store: SessionStore,
                                        checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("tick", "deploy.tag")
    s.close()
    changed = make_checklist(tmp_path / "checklist.yaml", extra=True)
    again = store.open(s.id)
    change = again.checklist_change(changed)
    assert change is not None
    assert change.added == ("deploy.smoke",) and change.removed == ("deploy.tag",)
    assert "deploy.smoke" in change.explain() and "deploy.tag" in change.explain()
    assert again.checklist_change(checklist) is None
    again.adopt_checklist(changed)
    assert again.checklist_change(changed) is None
    assert again.summary().total == 4
    again.close()


def test_viewer_picks_up_what_the_driver_records(store: SessionStore,
                                                 checklist: Checklist) -> None:
    driver = store.create(checklist, operator="ana")
    viewer = store.open(driver.id, read_only=True)
    assert viewer.refresh() == []
    driver.record("tick", "pre.db-backup")
    driver.record("fact", name="deployed_tag", value="v2.3.0")
    assert [e.kind for e in viewer.refresh()] == ["tick", "fact"]
    assert viewer.state(checklist).items["pre.db-backup"].state == "done"
    assert viewer.summary().done == 1 and viewer.state().facts == {"deployed_tag": "v2.3.0"}
    driver.close()
    viewer.refresh()
    assert viewer.holder is None


def test_events_in_memory_equal_the_reloaded_ones(store: SessionStore,
                                                  checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("fact", name="backup_path", value=Path("/backups/rs.dump"))
    s.record("check_result", "pre.db-backup", status="pass", summary="ok",
             evidence={"sizes": (1, 2), 3: "three"})
    s.close()
    assert store.open(s.id, read_only=True).events == s.events
