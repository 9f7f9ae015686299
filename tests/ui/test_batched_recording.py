"""ui/recording.py: results recorded from the loop while a write is under way go in one write.

A real session on disk; each caller gets back its own event once it is durable, or the error
that refused it (the others are recorded all the same).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.ui.recording import BatchedRecorder


def result(summary: str) -> dict[str, Any]:
    return {"status": "pass", "summary": summary, "duration_s": 0.1, "evidence": {}}


QIDS = ["pre.db-backup", "pre.db-restore-test", "pre.migrations-reviewed", "pre.tests-pass",
        "pre.no-debug", "pre.env-vars", "post.health", "post.login"]


async def test_results_landing_together_share_writes_and_each_gets_its_event(
        session: Session, store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    real = session.record_many

    def counted(entries: Any) -> Any:
        batches.append(len(entries))
        return real(entries)

    monkeypatch.setattr(session, "record_many", counted)
    recorder = BatchedRecorder(session)
    events = await asyncio.gather(*(recorder.record("check_result", qid, result(f"ok {qid}"))
                                    for qid in QIDS))
    assert [e.item for e in events] == QIDS
    assert [e.data["summary"] for e in events] == [f"ok {qid}" for qid in QIDS]
    assert sum(batches) == len(QIDS) and len(batches) < len(QIDS)  # the first alone, the rest
    session.flush_snapshot()
    durable = store.open(session.id, read_only=True)
    assert [e.item for e in durable.events if e.kind == "check_result"] == QIDS


async def test_a_refused_event_fails_its_own_caller_only(session: Session, tmp_path: Path) -> None:
    recorder = BatchedRecorder(session)
    outcomes = await asyncio.gather(
        recorder.record("check_result", "pre.db-backup", result("first")),
        recorder.record("check_result", "pre.tests-pass", {"status": 7, "summary": "bad"}),
        recorder.record("check_result", "post.health", result("third")),
        return_exceptions=True)
    assert isinstance(outcomes[1], RsdeployError) and "data.status" in outcomes[1].message
    assert [getattr(o, "item", None) for o in (outcomes[0], outcomes[2])] == [
        "pre.db-backup", "post.health"]
    assert [e.item for e in session.events if e.kind == "check_result"] == [
        "pre.db-backup", "post.health"]


async def test_a_read_only_session_refuses_every_caller(session: Session) -> None:
    recorder = BatchedRecorder(session)
    session.close()
    outcomes = await asyncio.gather(
        *(recorder.record("check_result", qid, result("late")) for qid in QIDS[:3]),
        return_exceptions=True)
    assert all(isinstance(o, RsdeployError) and "was not recorded" in o.message
               for o in outcomes)
