"""A conflict between two "machines" on one shared store (#18), for the tests that decide it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def _wait(condition: Callable[[], object], what: str, bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def make_conflict(machine: Callable[[str], Any], mini: Any, restartable: Any) -> str:
    """Machine a's tick, run and note land on numbers bob (machine b) took over meanwhile.

    Machine a reaches the store through ``restartable`` (its network, cut while it records);
    ``machine("a")`` later opens the same state dir through the usual endpoint (one moto state).
    """
    from rsdeploy_tui.session import SessionStore
    from rsdeploy_tui.session.shared.bucket import Bucket
    from rsdeploy_tui.session.shared.store import SharedStore

    url = machine("a").shared.url
    settings = {"aws_endpoint_url": restartable.url, "aws_region": "us-east-1"}
    flaky = SessionStore(machine("a").root, shared=SharedStore(url, Bucket(url, settings)))
    a = flaky.create(mini, operator="ana")
    a.record("tick", "pre.db-backup")
    assert a.shared.wait_uploaded(60)
    restartable.stop()  # machine a loses the network; it goes on locally
    a.record("tick", "pre.tests-pass")
    a.record("command_started", "pre.tests-pass", run="r1", command="make test", pid=1,
             log="runs/r1.log")
    a.record("command_finished", "pre.tests-pass", run="r1", exit_code=0, duration_s=2.0,
             tail=["ok"])
    a.record("note", "pre.tests-pass", text="tests green on ana's box")
    b = machine("b").open(a.id, operator="bob", take_over=True)
    b.record("note", "pre.db-backup", text="bob took over")
    assert b.shared.wait_uploaded(60)
    b.close()
    restartable.start()  # machine a is back: its numbers are bob's now
    _wait(lambda: a.shared.told is not None, "machine a learns bob owns its numbers")
    a.close()
    return a.id
