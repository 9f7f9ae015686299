"""AWS checks: s3_object, eb_health, eb_deployed, cloudwatch_alarms, log_errors, eb_env_vars.

boto3 blocks, so every check's AWS work runs in one thread (``asyncio.to_thread``); clients come
from ``rsdeploy_tui.aws.client`` (``aws_region``/``aws_endpoint_url`` vars, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rsdeploy_tui.checks.reasons import describe_error, one_line
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed


def _client(ctx: CheckContext, service: str) -> Any:
    from rsdeploy_tui.aws import client

    return client(service, ctx.vars)


def _aws_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith(("botocore", "boto3"))


async def _in_thread(function: Any, *args: Any) -> Any:
    """Run blocking boto3 work; AWS errors become a one-line ``error`` reason."""
    try:
        return await asyncio.to_thread(function, *args)
    except CheckError:
        raise
    except Exception as exc:
        if _aws_error(exc):
            raise CheckError(describe_error(exc)) from exc
        raise


def _environment(ctx: CheckContext, params: dict[str, Any]) -> str:
    name = params.get("environment") or ctx.var("eb_env")
    if not name:
        raise CheckError("no Elastic Beanstalk environment: set environment or the eb_env var")
    return str(name)


# --- S3 ---------------------------------------------------------------------------------------

def _newest_object(ctx: CheckContext, bucket: str, prefix: str) -> tuple[dict[str, Any] | None,
                                                                           int]:
    s3 = _client(ctx, "s3")
    newest, count = None, 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            count += 1
            if newest is None or obj["LastModified"] > newest["LastModified"]:
                newest = obj
    return newest, count


async def check_s3_object(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """The newest object under ``prefix`` exists, is >= ``min_bytes`` and <= ``max_age_minutes``."""
    bucket, prefix = str(params["bucket"]), str(params.get("prefix", ""))
    min_bytes = int(params.get("min_bytes", 1))
    newest, count = await _in_thread(_newest_object, ctx, bucket, prefix)
    where = f"s3://{bucket}/{prefix}"
    if newest is None:
        return failed(f"no object under {where}", bucket=bucket, prefix=prefix, objects=0)
    age = (datetime.now(UTC) - newest["LastModified"]).total_seconds() / 60
    evidence = {"bucket": bucket, "prefix": prefix, "objects": count, "key": newest["Key"],
                "size": newest["Size"], "last_modified": newest["LastModified"].isoformat(),
                "age_minutes": round(age, 1)}
    problems = []
    if newest["Size"] < min_bytes:
        problems.append(f"{newest['Size']} bytes < {min_bytes}")
    max_age = params.get("max_age_minutes")
    if max_age is not None:
        evidence["max_age_minutes"] = max_age
        if age > float(max_age):
            problems.append(f"{age:.0f} min old > {max_age} min")
    if problems:
        return failed(f"newest {newest['Key']}: " + ", ".join(problems), **evidence)
    return passed(f"newest {newest['Key']}: {newest['Size']} bytes, {age:.0f} min old",
                  **evidence)


# --- Elastic Beanstalk ------------------------------------------------------------------------

def _describe_env(eb: Any, name: str) -> dict[str, Any]:
    found = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)
    envs = [e for e in found.get("Environments", []) if e.get("Status") != "Terminated"]
    if not envs:
        raise CheckError(f"environment {name} not found")
    return envs[0]  # type: ignore[no-any-return]


def _enhanced_health(eb: Any, name: str) -> dict[str, Any] | None:
    """DescribeEnvironmentHealth, or None when the environment has basic health only."""
    try:
        return eb.describe_environment_health(  # type: ignore[no-any-return]
            EnvironmentName=name, AttributeNames=["All"])
    except Exception as exc:
        if _aws_error(exc) and "not supported" in str(exc).lower():
            return None
        if _aws_error(exc) and "InvalidRequest" in str(exc):
            return None
        raise


def _health(ctx: CheckContext, name: str) -> dict[str, Any]:
    eb = _client(ctx, "elasticbeanstalk")
    env = _describe_env(eb, name)
    found: dict[str, Any] = {"environment": name, "status": env.get("Status"),
                             "health": env.get("Health"), "health_status": env.get("HealthStatus"),
                             "version": env.get("VersionLabel")}
    enhanced = _enhanced_health(eb, name)
    if enhanced is not None:
        found["health_status"] = enhanced.get("HealthStatus", found["health_status"])
        found["color"] = enhanced.get("Color")
        found["causes"] = [one_line(c) for c in enhanced.get("Causes", [])][:10]
        found["instances"] = enhanced.get("InstancesHealth", {})
    found["enhanced"] = enhanced is not None
    return found


def _healthy(found: dict[str, Any]) -> bool:
    if found.get("health_status"):
        return found["health_status"] in ("Ok", "Info")
    return found.get("health") == "Green"


async def check_eb_health(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Status Ready and Health Green / HealthStatus Ok (enhanced health when available)."""
    name = _environment(ctx, params)
    found = await _in_thread(_health, ctx, name)
    state = f"{found['status']}, {found['health']}" + (
        f"/{found['health_status']}" if found.get("health_status") else "")
    if found["status"] != "Ready" or not _healthy(found):
        causes = "; ".join(found.get("causes") or [])
        return failed(f"{name}: {state}" + (f" — {causes}" if causes else ""), **found)
    return passed(f"{name}: {state}", **found)


FAILURE_EVENTS = ("Failed to deploy application.",
                  "Update environment operation is complete, but with errors.",
                  "The environment was reverted to the previous configuration setting.",
                  "Failed to deploy configuration.", "Environment health has been set to RED")


def _deployment_state(ctx: CheckContext, name: str, target: str) -> dict[str, Any]:
    eb = _client(ctx, "elasticbeanstalk")
    env = _describe_env(eb, name)
    found: dict[str, Any] = {
        "environment": name, "target_version": target, "status": env.get("Status"),
        "version": env.get("VersionLabel"), "health": env.get("Health"),
        "health_status": env.get("HealthStatus"),
        "abortable_operation": bool(env.get("AbortableOperationInProgress")),
    }
    try:
        instances = []
        kwargs: dict[str, Any] = {"EnvironmentName": name,
                                  "AttributeNames": ["HealthStatus", "Deployment"]}
        while True:
            page = eb.describe_instances_health(**kwargs)
            instances += page.get("InstanceHealthList", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        found["instances"] = [{"id": i.get("InstanceId"), "health": i.get("HealthStatus"),
                               "version": i.get("Deployment", {}).get("VersionLabel"),
                               "deployment": i.get("Deployment", {}).get("Status")}
                              for i in instances]
    except Exception as exc:
        if not _aws_error(exc):
            raise
        found["instances_note"] = f"per-instance status unavailable: {describe_error(exc)}"
    since = env.get("DateUpdated") or datetime.now(UTC) - timedelta(hours=1)
    try:
        events = eb.describe_events(EnvironmentName=name, StartTime=since - timedelta(minutes=5),
                                    MaxRecords=100).get("Events", [])
        found["failure_events"] = [one_line(e.get("Message", "")) for e in events
                                   if any(m in e.get("Message", "") for m in FAILURE_EVENTS)][:5]
    except Exception as exc:
        if not _aws_error(exc):
            raise
        found["failure_events"] = []
    return found


def _deployment_problems(found: dict[str, Any], target: str) -> list[str]:
    problems = []
    if found["status"] != "Ready":
        problems.append(f"status {found['status']}")
    if found["abortable_operation"]:
        problems.append("an update is still in progress")
    if found["version"] != target:
        problems.append(f"environment on {found['version']}, expected {target}")
    for inst in found.get("instances", []):
        if inst["deployment"] == "Failed":
            problems.append(f"deployment failed on {inst['id']}")
        elif inst["version"] != target or inst["deployment"] != "Deployed":
            problems.append(f"{inst['id']} on {inst['version']} ({inst['deployment']})")
    problems += [f"event: {m}" for m in found.get("failure_events", [])]
    if not _healthy(found):
        problems.append(f"health {found.get('health_status') or found.get('health')}")
    return problems


async def check_eb_deployed(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """The target version is deployed everywhere and healthy for ``polls`` polls in a row."""
    name = _environment(ctx, params)
    if "version" in params:  # given explicitly (a rollback's ${previous_version}): no fallback
        target = str(params["version"] or "")
    else:
        target = ctx.var("version") or str(ctx.facts.get("target_version") or "")
    if not target:
        raise CheckError("no target version: the version param or var (or the target_version "
                         "fact) is empty")
    polls, interval = max(1, int(params.get("polls", 3))), float(params.get("interval", 10))
    found: dict[str, Any] = {}
    for poll in range(polls):
        if poll:
            await asyncio.sleep(interval)
        start = time.monotonic()
        found = await _in_thread(_deployment_state, ctx, name, target)
        found["polls_ok"] = poll
        problems = _deployment_problems(found, target)
        if problems:
            return failed(f"{name}: " + "; ".join(problems[:4]), **found)
        found["poll_seconds"] = round(time.monotonic() - start, 3)
    found["polls_ok"] = polls
    count = len(found.get("instances", []))
    return passed(f"{name}: {target} deployed" + (f" on {count} instance(s)" if count else "")
                  + f", healthy for {polls} poll(s)", **found)


def _settings(ctx: CheckContext, name: str) -> dict[str, str]:
    eb = _client(ctx, "elasticbeanstalk")
    env = _describe_env(eb, name)
    config = eb.describe_configuration_settings(ApplicationName=env["ApplicationName"],
                                                EnvironmentName=name)
    values: dict[str, str] = {}
    for setting in (config.get("ConfigurationSettings") or [{}])[0].get("OptionSettings", []):
        if setting.get("Namespace") == "aws:elasticbeanstalk:application:environment":
            values[setting["OptionName"]] = setting.get("Value", "")
    return values


def _same(expected: Any, actual: str) -> bool:
    want = str(expected).strip()
    if want.lower() in ("true", "false"):
        return actual.strip().lower() == want.lower()
    return actual.strip() == want


async def check_eb_env_vars(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Required env vars exist on the environment; ``equals`` names have the given values.

    Secret values never reach the evidence: ``require`` reports presence only, and an ``equals``
    on a name listed in the checklist's secrets shows no value either.
    """
    name = _environment(ctx, params)
    require = [str(n) for n in params.get("require") or []]
    equals = {str(k): v for k, v in (params.get("equals") or {}).items()}
    values = await _in_thread(_settings, ctx, name)
    # Lists of names, not {name: state}: a redactor masks values keyed by secret-looking names.
    present = [n for n in require if values.get(n)]
    missing = [n for n in require if not values.get(n)]
    compared: dict[str, Any] = {}
    problems = [f"{n} missing" for n in missing]
    for key, want in equals.items():
        actual = values.get(key)
        ok = actual is not None and _same(want, actual)
        shown = "****" if key in ctx.secrets else actual
        compared[key] = {"expected": str(want), "actual": shown, "ok": ok}
        if not ok:
            problems.append(f"{key}={shown if actual is not None else '(unset)'}, "
                            f"expected {want}")
    values.clear()  # nothing below may use the secret values
    evidence = {"environment": name, "present": present, "missing": missing, "equals": compared}
    if problems:
        return failed(f"{name}: " + "; ".join(problems), **evidence)
    return passed(f"{name}: {len(require)} present, {len(equals)} as expected", **evidence)


# --- CloudWatch -------------------------------------------------------------------------------

def _alarms(ctx: CheckContext, prefix: str) -> list[dict[str, Any]]:
    cw = _client(ctx, "cloudwatch")
    kwargs = {"AlarmNamePrefix": prefix} if prefix else {}
    alarms = []
    for page in cw.get_paginator("describe_alarms").paginate(**kwargs):
        alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
    return [{"name": a["AlarmName"], "state": a.get("StateValue"),
             "reason": one_line(a.get("StateReason", ""), 200)} for a in alarms]


async def check_cloudwatch_alarms(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """No alarm with the prefix is in ALARM, and at least ``min_count`` exist."""
    prefix = str(params.get("prefix", ""))
    min_count = int(params.get("min_count", 1))
    alarms = await _in_thread(_alarms, ctx, prefix)
    firing = [a for a in alarms if a["state"] == "ALARM"]
    evidence = {"prefix": prefix, "count": len(alarms), "alarms": alarms[:30],
                "in_alarm": [a["name"] for a in firing]}
    if firing:
        return failed(f"{len(firing)} in ALARM: " + ", ".join(a["name"] for a in firing[:5]),
                      **evidence)
    if len(alarms) < min_count:
        return failed(f"only {len(alarms)} alarm(s) named {prefix!r}*, expected at least "
                      f"{min_count} (is monitoring set up?)", **evidence)
    return passed(f"{len(alarms)} alarm(s), none in ALARM", **evidence)


def _log_group(ctx: CheckContext, group: str) -> str:
    """Relative names (``var/log/web.stdout.log``) live under the EB environment, as in eb logs."""
    if group.startswith("/"):
        return group
    return f"/aws/elasticbeanstalk/{ctx.var('eb_env')}/{group}"


def _matches(ctx: CheckContext, group: str, pattern: str, minutes: float) -> list[dict[str, Any]]:
    logs = _client(ctx, "logs")
    start = int((time.time() - minutes * 60) * 1000)
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start, "limit": 100}
    if pattern:
        kwargs["filterPattern"] = pattern
    found: list[dict[str, Any]] = []
    while len(found) < 100:
        page = logs.filter_log_events(**kwargs)
        found += page.get("events", [])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return found


async def check_log_errors(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """No log event matching ``pattern`` (ERROR) in the last ``minutes`` (15)."""
    group = _log_group(ctx, str(params["log_group"]))
    pattern = str(params.get("pattern", "ERROR"))
    minutes = float(params.get("minutes", 15))
    events = await _in_thread(_matches, ctx, group, pattern, minutes)
    first = [{"at": datetime.fromtimestamp(e["timestamp"] / 1000, UTC).isoformat(),
              "stream": e.get("logStreamName"), "message": one_line(e.get("message", ""), 300)}
             for e in events[:5]]
    matches = len(events) if len(events) < 100 else "100+"
    evidence = {"log_group": group, "pattern": pattern, "minutes": minutes, "matches": matches,
                "first": first}
    if events:
        return failed(f"{matches} {pattern!r} line(s) in {group} in the last "
                      f"{minutes:g} min: {first[0]['message'][:120]}", **evidence)
    return passed(f"no {pattern!r} in {group} in the last {minutes:g} min", **evidence)
