"""The live UI tests again with the app's event loop competing with busy CPU threads (#16).

On a loaded bastion (or a CI runner shared with other jobs) the event loop gets the GIL late;
a widget mounted a moment ago may not be in the DOM yet when the next timer fires. The
``NoMatches: No nodes match '#run-log'`` crash of the run output view hid behind a flaky test
that way. These variants run the same tests with threads spinning in pure Python for the
test's duration, so such races show up here (more often than not on the old code), not at 2 a.m.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import test_runs

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState

BUSY_THREADS = 2
ROUNDS = 8


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """Threads spinning in pure Python (they take the GIL from the event loop) for the test."""
    stop = threading.Event()
    # A short switch interval makes the threads hand the GIL around often, as a busy machine
    # with many runnable threads does; restored afterwards.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)

    def spin() -> None:
        n = 0
        while not stop.is_set():
            for i in range(10_000):
                n ^= i * i

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(BUSY_THREADS)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        sys.setswitchinterval(interval)


async def test_a_run_shown_as_the_app_quits_never_crashes_under_load(
    busy_cpu: None, live: Checklist, session: Session, services: dict[str, Any],
) -> None:
    """The window of the old crash: the output view's timer fires while the screen is torn
    down, before its children exist (``mount`` does nothing on a widget being removed)."""
    from live_helpers import SIZE, runbook, wait_for

    from rsdeploy_tui.app import make_app

    for round_ in range(ROUNDS):
        app = make_app(live, session, use_git=False, services=services)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: runbook(app).runs.ready)  # noqa: B023
            output = runbook(app).runs.output
            output.open_run(f"r{round_}", "pre.hello  $ echo")
            output.feed(f"r{round_}", ["a line"])
            output.show(f"r{round_}")
        # Leaving the block tears the screen down at once; a crash there fails the test.


async def test_confirm_text_is_enforced_under_load(
    busy_cpu: None, live: Checklist, session: Session,
    stored: Callable[[str], SessionState], services: dict[str, Any],
) -> None:
    await test_runs.test_confirm_text_is_enforced(live, session, stored, services)


async def test_run_output_shows_under_load(
    busy_cpu: None, live: Checklist, session: Session,
    stored: Callable[[str], SessionState], services: dict[str, Any],
) -> None:
    await test_runs.test_run_records_start_and_finish_and_shows_output(
        live, session, stored, services)


async def test_cancel_under_load(
    busy_cpu: None, live: Checklist, session: Session,
    stored: Callable[[str], SessionState], services: dict[str, Any],
) -> None:
    await test_runs.test_cancel_kills_the_whole_process_group(live, session, stored, services)


async def test_a_flush_while_the_view_is_being_removed_builds_nothing_and_does_not_crash(
) -> None:
    """The same window without load, made on purpose: a timer tick between remove and gone."""
    from textual.app import App, ComposeResult

    from rsdeploy_tui.ui.widgets.run_output import RunOutput, RunOutputView

    store = RunOutput()

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield RunOutputView(store)

    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(RunOutputView)
        store.open_run("r1", "pre.hello  $ echo")
        store.feed("r1", ["a line"])
        store.show("r1")
        view.remove()
        view.flush()  # crashed with NoMatches: No nodes match '#run-log'
        await pilot.pause()
