"""Snapshots of every phase tab, the help screen, the resume modal and the gate message.

Deterministic: fixed store and app clocks, fixed session id, state dir in tmp, no git.
Regenerate with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionStore

SIZES = [pytest.param((100, 32), id="100x32"), pytest.param((80, 24), id="80x24")]


def worked(session: Session) -> Session:
    """A session with every kind of mark: done, skipped, failed check, running, a note."""
    session.record("phase_entered", phase="pre")
    session.record("tick", item="pre.db-backup")
    session.record("note", item="pre.db-backup", text="dump is 2.1 GB, in S3")
    session.record("skip", item="pre.db-restore-test", reason="staging is down; DBA signed off")
    session.record(
        "check_result",
        item="pre.migrations-reviewed",
        status="fail",
        summary="GET /health/ answered 503",
        duration_s=0.4,
        evidence={"status": 503, "url": "https://mini.example/health/"},
    )
    session.record(
        "command_started",
        item="pre.tests-pass",
        run="r1",
        command="pytest",
        pid=4242,
        log="runs/r1.log",
        confirmed=None,
    )
    return session


# The runs layer's banner asks AWS and its resume would end the made-up run r1: both off here
# (tests/live has their own snapshots).
QUIET_RUNS = {"banner": False, "reattach": False}


def app_for(checklist: Checklist, session: Session, clock: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("services", QUIET_RUNS)
    return make_app(checklist, session, clock=clock, ascii_only=False, use_git=False, **kwargs)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["1", "2", "3"], ids=["pre", "deploy", "post"])
def test_phase_tab(
    snap_compare: Any,
    mini: Checklist,
    session: Session,
    clock: Any,
    key: str,
    size: tuple[int, int],
) -> None:
    app = app_for(mini, worked(session), clock)
    assert snap_compare(app, press=[key], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(
    snap_compare: Any, mini: Checklist, session: Session, clock: Any, size: tuple[int, int]
) -> None:
    assert snap_compare(app_for(mini, session, clock), press=["question_mark"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_gate_message(
    snap_compare: Any, mini: Checklist, session: Session, clock: Any, size: tuple[int, int]
) -> None:
    assert snap_compare(app_for(mini, session, clock), press=["2", "space"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_resume_modal(
    snap_compare: Any,
    mini: Checklist,
    session: Session,
    store: SessionStore,
    clock: Any,
    size: tuple[int, int],
) -> None:
    worked(session)
    session.close()
    offer = store.latest(active_only=True, checklist_name=mini.name)
    assert offer is not None and offer.id == session.id

    def never(choice: str) -> Any:
        raise AssertionError("the snapshot must not choose")

    app = make_app(
        mini, None, clock=clock, ascii_only=False, use_git=False, offer=offer, open_choice=never
    )

    async def details_loaded(pilot: Any) -> None:
        for _ in range(200):  # read in a thread: wait for it, not for a time
            if "Looking at" not in str(app.screen.query_one("#resume-details").render()):
                return
            await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=details_loaded)


def test_ascii_marks_at_80x24(
    snap_compare: Any, mini: Checklist, session: Session, clock: Any
) -> None:
    app = make_app(
        mini, worked(session), clock=clock, ascii_only=True, use_git=False, services=QUIET_RUNS
    )
    assert snap_compare(app, terminal_size=(80, 24))


def test_too_small_terminal(
    snap_compare: Any, mini: Checklist, session: Session, clock: Any
) -> None:
    assert snap_compare(app_for(mini, session, clock), terminal_size=(60, 16))
