"""The check registry and the wrapper every check runs through.

A check is ``async def check(ctx: CheckContext, params: dict) -> CheckResult``. Check modules are
imported only when a check of their family runs, so loading a checklist or starting the app never
pays for httpx, boto3 or psycopg2. ``run_check`` is the only way a check should be run: it expands
``${var}`` in the params, applies the timeout, turns every exception into an ``error`` result with a
one-line reason, measures the duration and redacts the result.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import field, replace
from typing import Any, Literal

from rsdeploy_tui.checks import DEFAULT_CONCURRENCY
from rsdeploy_tui.checks.expand import VarError, expand_params
from rsdeploy_tui.checks.reasons import describe_error
from rsdeploy_tui.records import datarecord

Status = Literal["pass", "fail", "error", "skipped"]

DEFAULT_TIMEOUT = 30.0
"""Seconds a check may take when neither the item nor the caller says otherwise."""

# Checks that legitimately take longer than DEFAULT_TIMEOUT (test suites, deployment polls).
_TYPE_TIMEOUTS = {"command": 600.0, "test_suite": 1800.0, "django_deploy": 120.0,
                  "migrations": 120.0, "eb_deployed": 300.0, "secrets_in_repo": 120.0}

# type name -> "module:function" under rsdeploy_tui.checks; imported on first use.
CHECK_TYPES: dict[str, str] = {
    "http": "http:check_http",
    "https_redirect": "http:check_https_redirect",
    "security_headers": "http:check_security_headers",
    "cookies": "http:check_cookies",
    "csrf": "http:check_csrf",
    "response_time": "http:check_response_time",
    "tls_cert": "tls:check_tls_cert",
    "postgres": "database:check_postgres",
    "row_counts": "database:check_row_counts",
    "sql": "database:check_sql",
    "s3_object": "aws_checks:check_s3_object",
    "db_backup": "backups:check_db_backup",
    "eb_health": "aws_checks:check_eb_health",
    "eb_deployed": "aws_checks:check_eb_deployed",
    "cloudwatch_alarms": "aws_checks:check_cloudwatch_alarms",
    "log_errors": "aws_checks:check_log_errors",
    "eb_env_vars": "aws_checks:check_eb_env_vars",
    "env_vars": "local:check_env_vars",
    "command": "local:check_command",
    "test_suite": "suite:check_test_suite",
    "secrets_in_repo": "local:check_secrets_in_repo",
    "django_deploy": "django:check_django_deploy",
    "migrations": "django:check_migrations",
}


@datarecord(frozen=True)
class CheckResult:
    """What one check observed."""

    status: Status
    """pass, fail (observed and wrong), error (could not observe), skipped."""
    summary: str
    """One line for the operator."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """What was observed (status code, headers, certificate dates, counts...), redacted."""
    duration_s: float = 0.0
    """Wall time of the check, seconds."""

    def as_dict(self) -> dict[str, Any]:
        """The result as the data of a ``check_result`` event."""
        return {"status": self.status, "summary": self.summary,
                "duration_s": round(self.duration_s, 3), "evidence": self.evidence}


def passed(summary: str, **evidence: Any) -> CheckResult:
    """A passing result."""
    return CheckResult("pass", summary, evidence)


def failed(summary: str, **evidence: Any) -> CheckResult:
    """A failing result: the check observed something wrong."""
    return CheckResult("fail", summary, evidence)


def skipped(summary: str, **evidence: Any) -> CheckResult:
    """A check that could not apply (no baseline yet, nothing to compare)."""
    return CheckResult("skipped", summary, evidence)


class CheckError(Exception):
    """Raised by a check that cannot observe: becomes an ``error`` result with this reason."""

    def __init__(self, reason: str, **evidence: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence


Redact = Callable[[str], str]


@datarecord
class CheckContext:
    """Everything a check may read besides its own params.

    Attributes:
        vars: Resolved checklist variables (``resolve_vars``), used to expand ``${name}``.
        facts: The session's facts (``target_version``, ``previous_version``...).
        results: Earlier results by qualified item id; a value is a ``CheckResult``, the session's
            ``CheckRecord`` or a dict with ``evidence`` (baselines read only the evidence).
        redact: The session's ``Redactor`` (``text``/``value``) or any ``str -> str`` callable;
            a ``Redactor`` for ``secrets`` is applied in any case.
        timeout: Seconds per check overriding each check's own (``--timeout``); None = their own.
        environ: Environment the checks read (DB_*, AWS_*) and give to commands.
        secrets: Names of environment variables whose values must never appear in a result.
    """

    vars: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    redact: Any = None
    timeout: float | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    secrets: tuple[str, ...] = ()

    def var(self, name: str, default: str = "") -> str:
        """A resolved variable, or ``default`` when unset or empty."""
        value = self.vars.get(name)
        return str(value) if value not in (None, "") else default

    def baseline(self, ref: str) -> dict[str, Any] | None:
        """Evidence recorded earlier for the item ``ref`` (qualified or bare id), if any."""
        found = self.results.get(ref)
        if found is None:
            found = next((v for k, v in self.results.items() if k.rsplit(".", 1)[-1] == ref), None)
        if found is None:
            return None
        evidence = found.get("evidence") if isinstance(found, Mapping) else getattr(
            found, "evidence", None)
        return dict(evidence) if evidence else None


CheckFunction = Callable[[CheckContext, dict[str, Any]], Awaitable[CheckResult]]

# When the running check must be done (time.monotonic()); set per check task by ``_run``, so a
# check can give its own network waits less than the time left and name what did not answer
# instead of being cut off by the overall limit with no word about where.
_DEADLINE: ContextVar[float | None] = ContextVar("check_deadline", default=None)


def time_left(default: float = DEFAULT_TIMEOUT) -> float:
    """Seconds until the running check's time limit (``default`` outside a check)."""
    deadline = _DEADLINE.get()
    return default if deadline is None else max(0.0, deadline - time.monotonic())


def get_check(type_name: str) -> CheckFunction:
    """The coroutine function implementing a check type.

    Raises:
        KeyError: unknown type.
    """
    module_name, function = CHECK_TYPES[type_name].split(":")
    module = importlib.import_module(f"rsdeploy_tui.checks.{module_name}")
    return getattr(module, function)  # type: ignore[no-any-return]


def timeout_for(type_name: str, params: Mapping[str, Any], ctx: CheckContext) -> float:
    """Seconds this check may run: the caller's override, the item's, or the type's default."""
    if ctx.timeout is not None:
        return float(ctx.timeout)
    if isinstance(params.get("timeout"), int | float):
        return float(params["timeout"])
    return _TYPE_TIMEOUTS.get(type_name, DEFAULT_TIMEOUT)


async def run_check(item: Any, ctx: CheckContext) -> CheckResult:
    """Run an item's check; never raises (except cancellation), always a redacted result.

    Args:
        item: A checklist ``Item`` with a ``check`` (or anything with ``.check.type/.params``).
        ctx: Vars, facts, earlier results, redaction and timeout.
    """
    check = item.check
    start = time.monotonic()
    try:
        result = await _run(check.type, dict(check.params), ctx)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # a check bug must be a result, never a crash
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        result = CheckResult("error", describe_error(exc))
    result = replace(result, duration_s=time.monotonic() - start)
    return redact_result(result, ctx)


async def _run(type_name: str, raw: dict[str, Any], ctx: CheckContext) -> CheckResult:
    if type_name not in CHECK_TYPES:
        return CheckResult("error", f"unknown check type {type_name!r}")
    try:
        params = expand_params(raw, ctx.vars, ctx.environ, ctx.secrets)
    except VarError as exc:
        return CheckResult("error", str(exc))
    limit = timeout_for(type_name, params, ctx)
    params.pop("timeout", None)
    function = get_check(type_name)
    token = _DEADLINE.set(time.monotonic() + limit)
    try:
        return await asyncio.wait_for(function(ctx, params), limit)
    except TimeoutError:
        # Name what was waited on: the command or URL when the check has one.
        what = next((f"`{params[key]}`" if key in ("run", "command") else str(params[key])
                     for key in ("run", "command", "url") if params.get(key)),
                    f"the {type_name} check")
        if CHECK_TYPES[type_name].startswith(("aws_checks:", "backups:")):
            endpoint = ctx.var("aws_endpoint_url") or ctx.environ.get("AWS_ENDPOINT_URL", "")
            what = f"AWS ({endpoint or 'its default endpoint'}) for the {type_name} check"
        return CheckResult("error", f"{what} did not finish within {limit:g} s")
    except CheckError as exc:
        return CheckResult("error", exc.reason, exc.evidence)
    finally:
        _DEADLINE.reset(token)


def redact_result(result: CheckResult, ctx: CheckContext) -> CheckResult:
    """The result with secrets removed from its summary and evidence.

    Always applies a ``Redactor`` for the context's secret names and environment (secret values,
    secret-shaped text); ``ctx.redact`` (a session's ``Redactor`` or any ``str -> str``) on top.
    """
    from rsdeploy_tui.session.redact import Redactor, secret_var_values

    base = Redactor(ctx.secrets, environ=ctx.environ)
    # a server may reflect a var it was sent (an api_token, a DSN's password) into evidence
    base.add_values(secret_var_values(ctx.vars))
    evidence = base.value(_plain(result.evidence))
    summary = base.text(result.summary)
    return redact_with(replace(result, summary=summary, evidence=evidence), ctx.redact)


def redact_with(result: CheckResult, redact: Any) -> CheckResult:
    """The result through ``redact`` (a session's ``Redactor`` or any ``str -> str``; None:
    as it is)."""
    evidence, summary = result.evidence, result.summary
    if redact is not None and hasattr(redact, "value") and hasattr(redact, "text"):
        evidence, summary = redact.value(evidence), redact.text(summary)
    elif callable(redact):
        evidence, summary = _walk(evidence, redact), redact(summary)
    else:
        return result
    return replace(result, summary=summary, evidence=evidence)


def _plain(value: Any) -> Any:
    """Evidence as JSON-ready values (dates and other objects become strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _walk(value: Any, clean: Redact) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {k: _walk(v, clean) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, clean) for v in value]
    return value


OnResult = Callable[[Any, CheckResult], Any]



async def run_checks(
    items: Iterable[Any], ctx: CheckContext, concurrency: int = DEFAULT_CONCURRENCY,
    on_result: OnResult | None = None,
) -> dict[str, CheckResult]:
    """Run the checks of ``items``, at most ``concurrency`` at once.

    Items whose check names a ``baseline`` item that is also in this batch run after the others,
    so they compare against this run's measurement. Each result is stored in ``ctx.results`` and
    handed to ``on_result(item, result)`` (may be a coroutine function) as soon as it is known.
    Cancelling the returned coroutine cancels every running check.

    Returns:
        Results by qualified item id, in the order the items were given.
    """
    items = [item for item in items if getattr(item, "check", None) is not None]
    ids = {item.qid for item in items} | {item.id for item in items}
    later = [i for i in items if str(i.check.params.get("baseline", "")) in ids]
    later_ids = {i.qid for i in later}
    first = [i for i in items if i.qid not in later_ids]
    gate = asyncio.Semaphore(max(1, concurrency))
    results: dict[str, CheckResult] = {}

    async def one(item: Any) -> None:
        async with gate:
            result = await run_check(item, ctx)
        results[item.qid] = result
        ctx.results[item.qid] = result
        if on_result is not None:
            outcome = on_result(item, result)
            if asyncio.iscoroutine(outcome):
                await outcome

    for wave in (first, later):
        if wave:
            async with asyncio.TaskGroup() as group:
                for item in wave:
                    group.create_task(one(item))
    return {item.qid: results[item.qid] for item in items if item.qid in results}
