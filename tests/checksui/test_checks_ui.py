"""Checks from the runbook: c, a, T, escape, the Post-Deployment offer, auto_tick, baselines.

Asserted on the stored session (reloaded from disk) and on what the screen shows.
"""

from __future__ import annotations

from typing import Any

from checksui_pilot import SIZE, Stored, detail_text, line_of, results, runbook, settle, wait_for

from rsdeploy_tui.session import Session, SessionStore
from rsdeploy_tui.ui.screens.modals import ConfirmModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen


async def test_c_records_result_with_evidence_and_T_ticks(
    app_for: Any, session: Session, stored: Stored
) -> None:
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        assert screen.current_item.qid == "pre.health"
        await pilot.press("c")
        await settle(pilot, screen)
        shown = detail_text(screen)
        assert "PASS" in shown and "status: 200" in shown
        assert line_of(screen, "pre.health").startswith("[ ] ✓ ")  # check passed, not ticked
        # Passing, not auto_tick: offered, not ticked, until T.
        assert stored(session.id).item("pre.health").state == "pending"
        await pilot.press("T")
    state = stored(session.id)
    record = state.item("pre.health").check
    assert record is not None and record.status == "pass"
    assert record.evidence["status"] == 200
    assert record.duration_s is not None
    assert state.item("pre.health").state == "done"


async def test_a_runs_phase_checks_concurrently_while_keys_work(
    app_for: Any, session: Session, stored: Stored, site: Any
) -> None:
    site.hold_slow()
    app = app_for(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await pilot.press("a")
            await wait_for(pilot, site.server.slow_entered.is_set)
            # Every other check of the phase finishes while /slow is still held: they ran
            # beside it, not behind it.
            await wait_for(pilot, lambda: len(results(session)) == 5)
            assert "pre.slow" not in results(session)
            assert screen.checking.running_count == 1
            # ⟳ in the check cell (tests/ui/test_item_wrap.py: the line keeps its rows)
            assert line_of(screen, "pre.slow").startswith("[ ] ⟳ ")
            # A key press during the run is handled at once.
            assert screen.current_item.qid == "pre.health"
            await pilot.press("j")
            assert screen.current_item.qid == "pre.auto"
            site.release_slow()
            await settle(pilot, screen)
            assert line_of(screen, "pre.slow").startswith("[ ] ✓ ")
    finally:
        site.release_slow()
    state = stored(session.id)
    statuses = {q: state.item(q).check.status for q in (  # type: ignore[union-attr]
        "pre.health", "pre.auto", "pre.refused", "pre.slow", "pre.perf-baseline",
        "pre.migrations")}
    assert statuses == {"pre.health": "pass", "pre.auto": "pass", "pre.refused": "error",
                        "pre.slow": "pass", "pre.perf-baseline": "pass",
                        "pre.migrations": "fail"}
    # Connection refused is a result the operator can read, not a crash.
    assert "refused" in state.item("pre.refused").check.summary.lower()  # type: ignore[union-attr]
    # auto_tick ticked; the others wait for T.
    assert state.item("pre.auto").state == "done"
    assert state.item("pre.health").state == "pending"
    # The migrations plan is a fact the deployment log reads.
    plan = state.facts["migration_plan"]
    assert isinstance(plan, list) and any("Planned operations" in line for line in plan)


async def test_escape_cancels_running_checks(
    app_for: Any, session: Session, stored: Stored, site: Any
) -> None:
    site.hold_slow()
    app = app_for(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await pilot.press("j", "j", "j")
            assert screen.current_item.qid == "pre.slow"
            await pilot.press("c")
            await wait_for(pilot, site.server.slow_entered.is_set)
            assert "Check running" in detail_text(screen)
            # Escape twice out of habit: asked, and the second escape keeps them running.
            await pilot.press("escape", "escape")
            assert isinstance(app.screen, RunbookScreen)
            assert line_of(screen, "pre.slow").startswith("[ ] ⟳ ")
            await pilot.press("escape", "y")
            await settle(pilot, screen)
            assert line_of(screen, "pre.slow").startswith("[ ] · ")  # not run: nothing recorded
    finally:
        site.release_slow()
    assert stored(session.id).item("pre.slow").check is None


async def test_baseline_is_read_from_the_session(
    app_for: Any, session: Session, stored: Stored
) -> None:
    session.record("phase_entered", phase="post")  # no offer to answer first
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        screen.focus_item(screen.checklist.item("post.perf"))
        await pilot.press("c")
        await settle(pilot, screen)
        assert stored(session.id).item("post.perf").check.status == "skipped"  # type: ignore[union-attr]
        screen.focus_item(screen.checklist.item("pre.perf-baseline"))
        await pilot.press("c")
        await settle(pilot, screen)
        screen.focus_item(screen.checklist.item("post.perf"))
        await pilot.press("c")
        await settle(pilot, screen)
    record = stored(session.id).item("post.perf").check
    assert record is not None and record.status == "pass"
    assert record.evidence["baseline"] == "pre.perf-baseline"
    assert record.evidence["baseline_times"]


async def test_entering_post_offers_its_checks_once(
    app_for: Any, session: Session, stored: Stored
) -> None:
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        await pilot.press("3")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, screen)
        await pilot.press("1", "3")
        assert isinstance(app.screen, RunbookScreen)
    state = stored(session.id)
    assert state.current_phase == "post"
    assert state.item("post.site-up").check.status == "fail"  # type: ignore[union-attr]
    assert state.item("post.perf").check is not None


async def test_declined_offer_is_not_repeated_on_resume(
    app_for: Any, session: Session, store: SessionStore
) -> None:
    app = app_for(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
    assert results(session) == []
    session.close()
    again = store.open(session.id, operator="ana")
    try:
        app = app_for(again)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1", "3")
            assert isinstance(app.screen, RunbookScreen)
    finally:
        again.close()


async def test_read_only_runs_no_checks(
    app_for: Any, session: Session, store: SessionStore
) -> None:
    viewer = store.open(session.id, read_only=True)
    app = app_for(viewer)
    async with app.run_test(size=SIZE) as pilot:
        screen = runbook(app)
        assert screen.check_action("check", ()) is None
        assert screen.check_action("check_all", ()) is None
        await pilot.press("c", "a", "3")
        assert isinstance(app.screen, RunbookScreen)  # no offer either
        assert screen.checking.running_count == 0
    assert results(session) == []


async def test_quit_while_checks_run_asks(app_for: Any, session: Session, site: Any) -> None:
    site.hold_slow()
    app = app_for(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            screen.focus_item(screen.checklist.item("pre.slow"))
            await pilot.press("c")
            await wait_for(pilot, site.server.slow_entered.is_set)
            await pilot.press("q")
            assert isinstance(app.screen, ConfirmModal)
            await pilot.press("n")
            site.release_slow()
            await settle(pilot, screen)
    finally:
        site.release_slow()


class SlowDisk:
    """A home-made double for a disk whose fsync stalls (the real journal writer underneath):
    a stalled fsync cannot be produced on demand here. Appends from a thread other than the
    event loop's wait until the test lets them through; the append is real once it runs."""

    def __init__(self, writer: Any, loop_thread: int) -> None:
        import threading

        self._writer = writer
        self._loop_thread = loop_thread
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def append_many(self, events: Any) -> None:
        import threading

        if threading.get_ident() != self._loop_thread:
            self.entered.set()
            self.release.wait(20)
        self._writer.append_many(events)


async def test_keys_are_handled_while_a_check_result_waits_for_the_disk(
    app_for: Any, session: Session, stored: Stored
) -> None:
    """A check result's fsync stalls: the cursor still moves at once, and the result shows
    only once it is durable (never before)."""
    import threading

    disk = SlowDisk(session._writer, threading.get_ident())
    session._writer = disk
    app = app_for(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            assert screen.current_item.qid == "pre.health"
            await pilot.press("c")
            await wait_for(pilot, disk.entered.is_set)
            await pilot.press("j")  # the result is still on its way to the disk
            assert screen.current_item.qid == "pre.auto"
            assert "pre.health" not in results(session)
            assert "PASS" not in line_of(screen, "pre.health") and "✓" not in line_of(
                screen, "pre.health")
            disk.release.set()
            await wait_for(pilot, lambda: "pre.health" in results(session))
            await settle(pilot, screen)
            assert line_of(screen, "pre.health").startswith("[ ] ✓ ")
    finally:
        disk.release.set()
    assert stored(session.id).item("pre.health").check.status == "pass"  # type: ignore[union-attr]
