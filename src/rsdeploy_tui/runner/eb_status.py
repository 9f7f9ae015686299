"""What the Elastic Beanstalk API says about the environment (banner, and after a failed deploy).

Blocking boto3 calls: run them in a thread worker. They never raise; a failure is a status
with ``error`` set, so the banner shows "unknown" and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from rsdeploy_tui.records import datarecord

UNKNOWN = "unknown"
_IN_PROGRESS = {"Launching", "Updating", "Aborting", "Terminating", "LinkingFrom", "LinkingTo"}


@datarecord(frozen=True)
class EnvStatus:
    """One look at an Elastic Beanstalk environment."""

    env_name: str
    """The environment asked about."""
    status: str = UNKNOWN
    """Ready, Updating, Launching, Aborting, Terminating, Terminated ... or ``unknown``."""
    health: str = UNKNOWN
    """Green, Yellow, Red, Grey or ``unknown``."""
    health_status: str = ""
    """Enhanced health (Ok, Info, Warning, Degraded, Severe ...); empty with basic health."""
    version_label: str = UNKNOWN
    """The application version the environment runs."""
    abortable: bool = False
    """AbortableOperationInProgress: an update runs that ``eb abort`` can cancel."""
    causes: tuple[str, ...] = ()
    """Enhanced health causes (why it is not Ok)."""
    error: str | None = None
    """Why the API could not be read; all other fields are then ``unknown``."""
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    """UTC ISO-8601 time of the look."""

    @property
    def updating(self) -> bool:
        """An operation is in progress (show "update in progress")."""
        return self.abortable or self.status in _IN_PROGRESS


def _eb_client(vars: Mapping[str, str] | None) -> Any:
    from rsdeploy_tui.aws import client

    # One retry: the banner refreshes every few seconds anyway, and must fail fast offline.
    return client("elasticbeanstalk", vars, retries=1)


def _reason(exc: BaseException) -> str:
    from rsdeploy_tui.aws import describe_error

    return describe_error(exc)


def fetch_env_status(
    env_name: str, vars: Mapping[str, str] | None = None, *, eb: Any = None
) -> EnvStatus:
    """Status, health and version of ``env_name`` (DescribeEnvironments, plus
    DescribeEnvironmentHealth when enhanced health is on). Never raises.

    Args:
        env_name: The environment name.
        vars: Resolved checklist vars (``aws_region``, ``aws_endpoint_url``).
        eb: An existing boto3 elasticbeanstalk client to reuse (one is made otherwise).
    """
    try:
        eb = eb or _eb_client(vars)
        found = eb.describe_environments(EnvironmentNames=[env_name], IncludeDeleted=False)
        envs = found.get("Environments", [])
    except Exception as exc:  # the banner must never fail: the reason is shown instead
        return EnvStatus(env_name, error=_reason(exc))
    if not envs:
        return EnvStatus(env_name, error=f"no environment named {env_name} in this region")
    env = envs[0]
    health_status = str(env.get("HealthStatus") or "")
    causes: tuple[str, ...] = ()
    if health_status:
        try:
            detail = eb.describe_environment_health(
                EnvironmentName=env_name, AttributeNames=["HealthStatus", "Causes", "Color"]
            )
        except Exception:  # basic health or an old API: DescribeEnvironments is enough
            detail = {}
        health_status = str(detail.get("HealthStatus") or health_status)
        causes = tuple(str(c) for c in detail.get("Causes") or ())
    return EnvStatus(
        env_name,
        status=str(env.get("Status") or UNKNOWN),
        health=str(env.get("Health") or UNKNOWN),
        health_status=health_status,
        version_label=str(env.get("VersionLabel") or UNKNOWN),
        abortable=bool(env.get("AbortableOperationInProgress")),
        causes=causes,
    )


def _event_line(event: Mapping[str, Any]) -> str:
    when = event.get("EventDate")
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") if isinstance(when, datetime) else str(when or "")
    return f"{stamp:<20} {event.get('Severity', ''):<6} {event.get('Message', '')}"


def explain_deploy_exit(
    env_name: str,
    target_version: str | None,
    vars: Mapping[str, str] | None = None,
    *,
    max_events: int = 8,
    eb: Any = None,
) -> list[str]:
    """Lines saying what Elastic Beanstalk reports after ``eb deploy`` exited non-zero.

    ``eb deploy`` exits 4 both when the deploy failed and when the CLI only stopped waiting;
    the API tells them apart: Status, VersionLabel against the version being deployed, events.
    Never raises.
    """
    try:
        eb = eb or _eb_client(vars)
    except Exception as exc:  # no boto3 configuration at all: still an answer
        return [f"Could not ask Elastic Beanstalk what happened: {_reason(exc)}."]
    status = fetch_env_status(env_name, vars, eb=eb)
    if status.error:
        return [
            f"Could not ask Elastic Beanstalk what happened: {status.error}.",
            "The deploy may still be running: check `eb status` and `eb events -f`.",
        ]
    health = status.health + (f" / {status.health_status}" if status.health_status else "")
    lines = [f"Elastic Beanstalk says: {env_name} is {status.status}, health {health}."]
    target = target_version or ""
    if status.updating:
        lines.append(
            "An update is still in progress: the EB CLI stopped watching but the deploy goes on. "
            "Watch the banner; `eb abort` cancels it."
        )
        if target and status.version_label != target:
            lines.append(f"VersionLabel is still {status.version_label} (deploying {target}).")
    elif target and status.version_label == target:
        verdict = "the new version is deployed"
        if status.health not in ("Green", UNKNOWN):
            verdict += f", but health is {health}"
        lines.append(f"VersionLabel is {target}: {verdict}.")
    elif target:
        lines.append(
            f"VersionLabel is {status.version_label}, not {target}: the environment still runs "
            "the previous version — the deploy failed or was rolled back."
        )
    else:
        lines.append(f"VersionLabel is {status.version_label}.")
    for cause in status.causes[:3]:
        lines.append(f"Health cause: {cause}")
    try:
        events = eb.describe_events(EnvironmentName=env_name, MaxRecords=max_events)
        recent = list(events.get("Events", []))[:max_events]
    except Exception as exc:  # events are a help, not a requirement
        lines.append(f"Recent events unavailable: {_reason(exc)}.")
        return lines
    if recent:
        lines.append("Last events (oldest first):")
        lines.extend(f"  {_event_line(e)}" for e in reversed(recent))
    return lines
