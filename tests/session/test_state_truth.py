"""Derived item state tells the truth after re-runs, cancels and re-checks (#13.5-.7, #15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from session_factory import make_checklist

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import SessionStore


class Clock:
    """A clock the test moves by hand (the cancel's time must differ from the tick's)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 10, 59, 24, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_store(tmp_path, clock: Clock) -> SessionStore:  # type: ignore[no-untyped-def]
    return SessionStore(tmp_path / "sessions", clock=clock)


def _run(s, qid: str, run: str, exit_code: int | None, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    s.record("command_started", qid, run=run, command="eb deploy", pid=1)
    clock.advance(60)
    s.record("command_finished", qid, run=run, exit_code=exit_code, duration_s=60.0, tail=[])


def test_a_successful_rerun_clears_the_failure_and_keeps_it_in_history(
        clocked_store: SessionStore, clock: Clock, checklist: Checklist) -> None:
    s = clocked_store.create(checklist, operator="ana")
    _run(s, "deploy.eb-deploy", "r1", 4, clock)
    assert s.state(checklist).item("deploy.eb-deploy").state == "failed"
    _run(s, "deploy.eb-deploy", "r2", 0, clock)
    item = s.state(checklist).item("deploy.eb-deploy")
    assert item.state == "pending"
    assert [r.exit_code for r in item.runs] == [4, 0]  # the failure stays in its history
    s.close()


def test_a_check_failure_then_a_successful_run_is_pending_and_the_check_stale(
        clocked_store: SessionStore, clock: Clock, checklist: Checklist) -> None:
    s = clocked_store.create(checklist, operator="ana")
    s.record("check_result", "pre.db-backup", status="fail", summary="no dump", evidence={})
    assert s.state(checklist).item("pre.db-backup").state == "failed"
    _run(s, "pre.db-backup", "b1", 0, clock)
    item = s.state(checklist).item("pre.db-backup")
    assert item.state == "pending"
    assert item.check_stale and item.check_status == "stale"
    s.record("check_result", "pre.db-backup", status="pass", summary="dump found", evidence={})
    item = s.state(checklist).item("pre.db-backup")
    assert not item.check_stale and item.check_status == "pass"
    s.close()


def test_cancel_keeps_who_ticked_and_when(
        clocked_store: SessionStore, clock: Clock, checklist: Checklist) -> None:
    s = clocked_store.create(checklist, operator="ana")
    tick = s.record("tick", "deploy.eb-deploy")
    clock.advance(12 * 60)
    s.record("command_started", "deploy.eb-deploy", run="r1", command="eb deploy", pid=1)
    clock.advance(3)
    cancel = s.record("run_cancelled", "deploy.eb-deploy", run="r1", signal="SIGINT")
    clock.advance(1)
    s.record("command_finished", "deploy.eb-deploy", run="r1", exit_code=130, duration_s=3.0,
             tail=[])
    item = s.state(checklist).item("deploy.eb-deploy")
    assert item.state == "done"
    assert item.at == tick.at and item.at != cancel.at
    assert item.by == "ana"
    assert item.runs[0].cancelled == "SIGINT"
    s.close()


def test_done_item_whose_recheck_fails_is_not_counted_done(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.notify")
    s.record("tick", "pre.db-backup")
    assert s.state(checklist).counts(checklist) == (2, 4, 1)
    s.record("check_result", "pre.db-backup", status="fail", summary="gone", evidence={})
    state = s.state(checklist)
    item = state.item("pre.db-backup")
    assert item.state == "done" and item.failing and not item.resolved
    assert state.counts(checklist) == (1, 4, 2)
    assert state.phase_counts(checklist, "pre") == (1, 2, 1)
    assert state.failing(i.qid for i in checklist.iter_items()) == ["pre.db-backup"]
    s.record("check_result", "pre.db-backup", status="error", summary="timeout", evidence={})
    assert s.state(checklist).item("pre.db-backup").failing
    s.record("check_result", "pre.db-backup", status="pass", summary="back", evidence={})
    assert s.state(checklist).counts(checklist) == (2, 4, 1)
    s.close()


def test_tick_over_a_failing_check_keeps_its_reason(
        store: SessionStore, checklist: Checklist) -> None:
    s = store.create(checklist, operator="ana")
    s.record("check_result", "pre.notify", status="fail", summary="webhook 500", evidence={})
    s.record("tick", "pre.notify", reason="told them by phone", check_status="fail")
    item = s.state(checklist).item("pre.notify")
    assert item.state == "done" and item.reason == "told them by phone"
    s.close()


def test_summary_counts_follow_the_failing_rule(store: SessionStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    checklist = make_checklist(tmp_path / "c.yaml")
    s = store.create(checklist, operator="ana")
    s.record("tick", "pre.db-backup")
    s.record("check_result", "pre.db-backup", status="fail", summary="gone", evidence={})
    summary = store.summary(s.id)
    assert summary.done == 0 and summary.critical_pending == 2
    s.close()
