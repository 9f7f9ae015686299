"""A command printing 200 MB does not freeze the app (#17.5).

The run goes through the real wrapper into its log; the screen follows the tail with bounded
reads per frame. Keys pressed during the flood take effect (asserted on the stored session);
the measured key latency is printed in the test output, not asserted (speed is bench/'s job).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from live_helpers import SIZE, goto, kinds, runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import SessionStore

FLOOD_BYTES = 200 * 1024 * 1024
CHECKLIST = """\
name: Flood
phases:
  - id: pre
    title: Pre-Deployment
    items:
      - id: flood
        text: Prints 200 MB
        command: >-
          python3 -c "import sys, time; block = b'flood line of output, quite ordinary\\\\n' * 8192;
          [(sys.stdout.buffer.write(block), time.sleep(0.01)) for _ in range({blocks})]"
      - id: first
        text: First manual step
      - id: second
        text: Second manual step
"""


async def test_keys_take_effect_while_a_run_floods_its_output(
    tmp_path: Path, store: SessionStore, services: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "flood.yaml"
    blocks = FLOOD_BYTES // (37 * 8192)
    path.write_text(CHECKLIST.replace("{blocks}", str(blocks)))
    checklist = load_checklist(path)
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    app = make_app(checklist, session, use_git=False, services=services)
    latencies: list[float] = []
    sizes: list[int] = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = runbook(app)
            await goto(pilot, app, "pre.flood")
            await pilot.press("r")
            await wait_for(pilot, lambda: "command_started" in kinds(session, "pre.flood"),
                           what="the flood to start")
            run = next(e for e in session.events if e.kind == "command_started")
            log = Path(run.data["log"])
            await wait_for(pilot, lambda: log.exists() and log.stat().st_size > 20 << 20,
                           timeout=120, what="20 MB of output")
            for qid in ("pre.first", "pre.second"):
                screen.focus_item(checklist.item(qid))
                await wait_for(pilot, lambda: screen.current_item is not None
                               and screen.current_item.qid == qid, timeout=60,  # noqa: B023
                               what=f"the cursor on {qid}")
                pressed = time.monotonic()
                await pilot.press("space")
                await wait_for(pilot, lambda: "tick" in kinds(session, qid),  # noqa: B023
                               timeout=60, what=f"the tick of {qid} during the flood")
                latencies.append(time.monotonic() - pressed)
                sizes.append(log.stat().st_size)
            still_flooding = "command_finished" not in kinds(session, "pre.flood")
            output = screen.runs.output
            await wait_for(pilot, lambda: "command_finished" in kinds(session, "pre.flood"),
                           timeout=600, what="the flood to end")
            await wait_for(pilot, lambda: output.runs[run.data["run"]].state != "running",
                           timeout=30, what="the view to show the end")
    finally:
        session.close()
    stored = store.open(session.id, read_only=True).state(checklist)
    assert stored.item("pre.first").state == "done"
    assert stored.item("pre.second").state == "done"
    assert stored.item("pre.flood").runs[-1].exit_code == 0
    final = log.stat().st_size
    assert final >= FLOOD_BYTES * 0.99
    # The keys were handled while the output still poured in, not after it (a frozen loop
    # handles them only once the follower has caught up with the finished log).
    assert sizes[-1] < final, "the ticks were handled only after the flood"
    with capsys.disabled():
        print(f"\n[flood] key-to-recorded-tick latency during a 200 MB flood: "
              f"{', '.join(f'{s * 1000:.0f} ms' for s in latencies)} "
              f"(flood still running at the last key: {still_flooding}; log at the ticks: "
              f"{', '.join(f'{n >> 20} MB' for n in sizes)} of {final >> 20} MB)")
