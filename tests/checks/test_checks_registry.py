"""run_check / run_checks: every failure is a result; concurrency is bounded; cancel stops all."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from checkrun import item, run

from rsdeploy_tui.checks import registry
from rsdeploy_tui.checks.registry import CheckContext, CheckResult, passed, run_checks
from rsdeploy_tui.checks.specs import CHECK_SPECS


def test_every_type_in_the_specs_is_implemented() -> None:
    assert set(CHECK_SPECS) == set(registry.CHECK_TYPES)
    for name in registry.CHECK_TYPES:
        assert asyncio.iscoroutinefunction(registry.get_check(name)), name


@pytest.fixture
def fake_types(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Register test-only check types under rsdeploy_tui.checks (this module's functions)."""
    calls: dict[str, Any] = {"running": 0, "peak": 0, "cancelled": 0}

    async def sleepy(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
        calls["running"] += 1
        calls["peak"] = max(calls["peak"], calls["running"])
        try:
            await asyncio.sleep(float(params.get("seconds", 0.05)))
        except asyncio.CancelledError:
            calls["cancelled"] += 1
            raise
        finally:
            calls["running"] -= 1
        return passed("slept", seen=ctx.baseline("first"))

    async def gathering(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
        """Holds until ``running`` checks run at once: only concurrent runs can get past it."""
        calls["running"] += 1
        calls["peak"] = max(calls["peak"], calls["running"])
        try:
            deadline = time.monotonic() + 30  # generous: a serial runner fails here, not hangs
            while calls["running"] < int(params["running"]) and not calls.get("gathered"):
                if time.monotonic() > deadline:
                    raise AssertionError(f"never {params['running']} checks at once")
                await asyncio.sleep(0.001)
            calls["gathered"] = True  # the last batch may be smaller; the overlap is proven
        finally:
            calls["running"] -= 1
        return passed("gathered")

    async def buggy(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
        return {}["no such key"]  # type: ignore[no-any-return]

    async def leaky(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
        return passed(f"token {params['token']}", output=[f"DB_PASSWORD={params['token']}"])

    functions = {"sleepy": sleepy, "gathering": gathering, "buggy": buggy, "leaky": leaky}
    monkeypatch.setattr(registry, "get_check", lambda name: functions[name])
    for name in functions:
        monkeypatch.setitem(registry.CHECK_TYPES, name, f"test:{name}")
    return calls


async def test_a_bug_in_a_check_is_an_error_result(fake_types: dict[str, Any]) -> None:
    result = await run("buggy")
    assert result.status == "error"
    assert result.summary == "KeyError: 'no such key'"


async def test_unknown_type_is_an_error() -> None:
    result = await run("no_such_type")
    assert result.status == "error" and "unknown check type" in result.summary


async def test_secrets_are_redacted_from_summary_and_evidence(fake_types: dict[str, Any]
                                                              ) -> None:
    ctx = CheckContext(environ={"DB_PASSWORD": "pa55-word-xyz"}, secrets=("DB_PASSWORD",))
    result = await run("leaky", ctx, token="${env:DB_PASSWORD}")
    assert "pa55-word-xyz" not in result.summary
    assert "pa55-word-xyz" not in str(result.evidence)
    assert result.summary == "token ****"


async def test_a_custom_redactor_is_applied(fake_types: dict[str, Any]) -> None:
    ctx = CheckContext(redact=lambda text: text.replace("abc", "[x]"))
    result = await run("leaky", ctx, token="abc")
    assert result.summary == "token [x]"


async def test_concurrency_is_bounded_and_results_stream(fake_types: dict[str, Any]) -> None:
    # Concurrency is observed, not timed: each check waits until four run at once.
    items = [item("gathering", f"c{i}", running=4) for i in range(12)]
    seen: list[str] = []
    results = await run_checks(items, CheckContext(), concurrency=4,
                               on_result=lambda it, res: seen.append(it.qid))
    assert [r.summary for r in results.values()] == ["gathered"] * 12
    assert fake_types["peak"] == 4  # four overlapped, never a fifth
    assert sorted(seen) == sorted(i.qid for i in items)
    assert list(results) == [i.qid for i in items]  # checklist order, not finishing order


async def test_baseline_items_in_the_same_batch_run_first(fake_types: dict[str, Any]) -> None:
    first = item("sleepy", "first", phase="pre", seconds=0.1)
    after = item("sleepy", "after", seconds=0.0, baseline="first")
    ctx = CheckContext()
    results = await run_checks([after, first], ctx)
    assert results["post.after"].evidence["seen"] is not None
    assert "pre.first" in ctx.results


async def test_cancelling_stops_every_running_check(fake_types: dict[str, Any]) -> None:
    items = [item("sleepy", f"c{i}", seconds=30) for i in range(5)]
    task = asyncio.create_task(run_checks(items, CheckContext(), concurrency=3))
    deadline = time.monotonic() + 30
    while fake_types["running"] < 3:  # the event that matters: three checks are running
        assert time.monotonic() < deadline, "the checks never started"
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake_types["cancelled"] == 3
    assert fake_types["running"] == 0


async def test_timeout_from_context_overrides_params(fake_types: dict[str, Any]) -> None:
    result = await run("sleepy", CheckContext(timeout=0.05), seconds=5, timeout=60)
    assert result.status == "error"
    assert result.summary == "the sleepy check did not finish within 0.05 s"
    # The timeout stopped the check (it was cancelled, nothing runs on), not waited it out.
    assert (fake_types["cancelled"], fake_types["running"]) == (1, 0)
