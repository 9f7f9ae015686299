"""``capture_version``: record the version Elastic Beanstalk runs now, before deploying.

``describe_environments`` -> ``VersionLabel`` becomes the fact ``previous_version``, which the
Rollback phase uses in ``eb deploy ${eb_env} --version ${previous_version}``.
"""

from __future__ import annotations

from typing import Any

from rsdeploy_tui.actions.common import ActionFailed, Context, aws_error, aws_exceptions, say


def run(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Read the environment's VersionLabel; returns (summary, facts)."""
    from rsdeploy_tui.aws import client

    env_name = ctx.param("environment", ctx.var("eb_env"))
    if not env_name:
        raise ActionFailed("No environment", "The var eb_env is empty; set --set eb_env=NAME.")
    say(f"describe_environments: {env_name}")
    try:
        found = client("elasticbeanstalk", ctx.vars).describe_environments(
            EnvironmentNames=[env_name], IncludeDeleted=False
        )["Environments"]
    except aws_exceptions() as exc:
        raise aws_error(exc, f"describe_environments for {env_name}") from None
    if not found:
        raise ActionFailed("Environment not found",
                           f"Elastic Beanstalk has no environment named {env_name}.")
    env = found[0]
    label = str(env.get("VersionLabel") or "")
    status = str(env.get("Status") or "?")
    if not label:
        raise ActionFailed("No version deployed",
                           f"{env_name} reports no VersionLabel (Status {status}); nothing to "
                           "roll back to. Set --set previous_version=LABEL if you know it.")
    deploying = ctx.var("version")
    if deploying and label == deploying:
        raise ActionFailed(
            "Already on the new version",
            f"{env_name} already runs {label}, the version being deployed: it cannot be the "
            "version to roll back to. Set --set previous_version=LABEL with the one before.",
        )
    say(f"{env_name}: VersionLabel {label}, Status {status}, Health {env.get('Health', '?')}")
    facts = {"previous_version": label, "previous_version_environment": env_name}
    return f"Captured {env_name}'s current version {label} as previous_version.", facts
