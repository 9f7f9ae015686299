"""State behind EbApiStub: environments, instances, events, option settings, updates.

Field names follow the operator's view (what `eb status` / `eb health` / the console show);
``description()`` methods turn them into the dicts the Elastic Beanstalk API returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from typing import Any

SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")

ENV_NAMESPACE = "aws:elasticbeanstalk:application:environment"
LOGS_NAMESPACE = "aws:elasticbeanstalk:cloudwatch:logs"
SOLUTION_STACK = "64bit Amazon Linux 2023 v4.3.0 running Python 3.11"
PLATFORM_ARN = (
    "arn:aws:elasticbeanstalk:{region}::platform/"
    "Python 3.11 running on 64bit Amazon Linux 2023/4.3.0"
)

# Distinctive secret values so redaction tests can grep screens, logs and reports for them.
SECRET_ENV_VARS = {
    "SECRET_KEY": "eb-Secret-key-5d7e0b2c9a41f3e8b6d0c7a9e2f4b1d3c5a7e9f0b2d4c6a8e",
    "DB_PASSWORD": "eb-Secret-dbpass-48c2",
    "ADMIN_PASSWORD": "eb-Secret-admin-91fa",
}


def severity_at_least(severity: str, floor: str) -> bool:
    """True if ``severity`` is ``floor`` or more severe (EB's DescribeEvents filter)."""
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)


def now() -> dt.datetime:
    """Timezone-aware UTC now."""
    return dt.datetime.now(dt.UTC)


def default_env_vars() -> dict[str, str]:
    """Application environment variables of a production-like environment."""
    return {
        "DJANGO_SETTINGS_MODULE": "rs_systems.settings.production",
        "ENVIRONMENT": "production",
        "USE_HTTPS": "true",
        "ALLOWED_HOSTS": "rockstarwindshield.repair,www.rockstarwindshield.repair",
        "DB_HOST": "rs-systems-prod.abc123xyz.us-east-1.rds.amazonaws.com",
        "DB_PORT": "5432",
        "DB_NAME": "rs_systems",
        "DB_USER": "rs_app",
        **SECRET_ENV_VARS,
    }


@dataclasses.dataclass
class StubEvent:
    """One EB event (``eb events`` line)."""

    message: str
    severity: str = "INFO"
    event_date: dt.datetime = dataclasses.field(default_factory=now)
    version_label: str | None = None
    request_id: str | None = None
    """The UpdateEnvironment request this event belongs to (``eb deploy`` follows only those)."""

    def description(self, env: StubEnvironment) -> dict[str, Any]:
        """EventDescription."""
        described = {
            "EventDate": self.event_date,
            "Message": self.message,
            "ApplicationName": env.application,
            "VersionLabel": self.version_label,
            "EnvironmentName": env.name,
            "Severity": self.severity,
        }
        if self.request_id:
            described["RequestId"] = self.request_id
        return described


@dataclasses.dataclass
class StubInstance:
    """One EC2 instance as enhanced health reports it."""

    instance_id: str
    health_status: str = "Ok"
    """Ok / Info / Warning / Degraded / Severe / Pending / Unknown / NoData."""
    color: str = "Green"
    causes: list[str] = dataclasses.field(default_factory=list)
    deployment_version: str | None = None
    """Version on this instance; None = the environment's VersionLabel at creation."""
    deployment_id: int = 1
    deployment_status: str = "Deployed"
    """Deployed / In Progress / Failed."""
    deployment_time: dt.datetime = dataclasses.field(
        default_factory=lambda: now() - dt.timedelta(hours=2)
    )
    availability_zone: str = "us-east-1a"
    instance_type: str = "t3.small"
    launched_at: dt.datetime = dataclasses.field(
        default_factory=lambda: now() - dt.timedelta(days=3)
    )
    request_count: int = 600
    status_5xx: int = 0

    def description(self, env: StubEnvironment) -> dict[str, Any]:
        """SingleInstanceHealth."""
        return {
            "InstanceId": self.instance_id,
            "HealthStatus": self.health_status,
            "Color": self.color,
            "Causes": list(self.causes),
            "LaunchedAt": self.launched_at,
            "ApplicationMetrics": _metrics(self.request_count, self.status_5xx),
            "System": {
                "CPUUtilization": {"User": 7.1, "System": 1.4, "Idle": 91.2, "IOWait": 0.3},
                "LoadAverage": [0.12, 0.09, 0.05],
            },
            "Deployment": {
                "VersionLabel": self.deployment_version or env.version_label,
                "DeploymentId": self.deployment_id,
                "Status": self.deployment_status,
                "DeploymentTime": self.deployment_time,
            },
            "AvailabilityZone": self.availability_zone,
            "InstanceType": self.instance_type,
        }


@dataclasses.dataclass
class StubUpdate:
    """An UpdateEnvironment call: a deployment and/or configuration change."""

    version_label: str | None
    previous_version_label: str
    option_settings: list[tuple[str, str, str]]
    """(namespace, option name, value) to apply when the update succeeds."""
    options_to_remove: list[tuple[str, str]]
    polls_left: int | None
    request_id: str | None = None
    """The RequestId UpdateEnvironment answered with; the update's events carry it."""
    outcome: str = "in progress"
    """in progress / succeeded / failed / aborted."""


def _metrics(requests: int, status_5xx: int) -> dict[str, Any]:
    return {
        "Duration": 10,
        "RequestCount": requests,
        "StatusCodes": {
            "Status2xx": max(requests - status_5xx - 6, 0),
            "Status3xx": 4,
            "Status4xx": 2,
            "Status5xx": status_5xx,
        },
        "Latency": {
            "P999": 1.9,
            "P99": 0.8,
            "P95": 0.35,
            "P90": 0.21,
            "P85": 0.15,
            "P75": 0.09,
            "P50": 0.04,
            "P10": 0.01,
        },
    }


def _default_events() -> list[StubEvent]:
    start = now() - dt.timedelta(hours=2)
    return [
        StubEvent("Environment update is starting.", event_date=start),
        StubEvent(
            "Deploying new version to instance(s).", event_date=start + dt.timedelta(seconds=20)
        ),
        StubEvent(
            "Environment update completed successfully.", event_date=start + dt.timedelta(minutes=3)
        ),
    ]


@dataclasses.dataclass
class StubEnvironment:
    """One EB environment; tests change fields directly (hold ``EbApiStub.lock``)."""

    name: str
    region: str = "us-east-1"
    application: str = "rs-systems"
    version_label: str = "app-v41"
    status: str = "Ready"
    """Launching / Updating / Ready / Terminating / Terminated."""
    health: str = "Green"
    """Colour: Green / Yellow / Red / Grey."""
    health_status: str = "Ok"
    """Ok / Info / Warning / Degraded / Severe / Pending / Unknown / NoData / Suspended."""
    abortable_operation_in_progress: bool = False
    causes: list[str] = dataclasses.field(default_factory=list)
    environment_id: str = ""
    cname: str = ""
    env_vars: dict[str, str] = dataclasses.field(default_factory=default_env_vars)
    """aws:elasticbeanstalk:application:environment options."""
    stream_logs: bool = True
    """aws:elasticbeanstalk:cloudwatch:logs StreamLogs."""
    log_retention_days: int = 7
    extra_options: dict[tuple[str, str], str] = dataclasses.field(
        default_factory=lambda: {
            ("aws:elasticbeanstalk:command", "DeploymentPolicy"): "Rolling",
            ("aws:elasticbeanstalk:healthreporting:system", "SystemType"): "enhanced",
            ("aws:autoscaling:asg", "MinSize"): "2",
            ("aws:autoscaling:asg", "MaxSize"): "4",
        }
    )
    """Any other (namespace, option) -> value."""
    instances: list[StubInstance] = dataclasses.field(
        default_factory=lambda: [
            StubInstance("i-0a1b2c3d4e5f60001", availability_zone="us-east-1a"),
            StubInstance("i-0a1b2c3d4e5f60002", availability_zone="us-east-1b"),
        ]
    )
    events: list[StubEvent] = dataclasses.field(default_factory=_default_events)
    request_count: int = 1200
    status_5xx: int = 0
    update_polls: int | None = None
    """Describe calls after which an update ends by itself; None = wait for finish_update()."""
    update_outcome: str = "success"
    """How a self-ending update ends: success / failure."""
    update: StubUpdate | None = None
    """The update in progress, if any."""
    history: list[StubUpdate] = dataclasses.field(default_factory=list)
    """Finished updates, oldest first."""
    _events_request_id: str | None = dataclasses.field(default=None, repr=False)
    """RequestId stamped on events while an update runs (its last events included)."""
    date_created: dt.datetime = dataclasses.field(
        default_factory=lambda: now() - dt.timedelta(days=30)
    )
    date_updated: dt.datetime = dataclasses.field(default_factory=now)

    def __post_init__(self) -> None:
        if not self.environment_id:
            self.environment_id = f"e-{zlib.crc32(self.name.encode()):010d}"[:12]
        if not self.cname:
            self.cname = f"{self.name}.{self.region}.elasticbeanstalk.com"

    # -- API views ------------------------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        """EnvironmentDescription (DescribeEnvironments / UpdateEnvironment)."""
        return {
            "EnvironmentName": self.name,
            "EnvironmentId": self.environment_id,
            "ApplicationName": self.application,
            "VersionLabel": self.version_label,
            "SolutionStackName": SOLUTION_STACK,
            "PlatformArn": PLATFORM_ARN.format(region=self.region),
            "EndpointURL": f"awseb-e-{self.environment_id[2:]}-1.{self.region}.elb.amazonaws.com",
            "CNAME": self.cname,
            "DateCreated": self.date_created,
            "DateUpdated": self.date_updated,
            "Status": self.status,
            "AbortableOperationInProgress": self.abortable_operation_in_progress,
            "Health": self.health,
            "HealthStatus": self.health_status,
            "Tier": {"Name": "WebServer", "Type": "Standard", "Version": "1.0"},
            "EnvironmentLinks": [],
            "EnvironmentArn": (
                f"arn:aws:elasticbeanstalk:{self.region}:123456789012:environment/"
                f"{self.application}/{self.name}"
            ),
        }

    def platform_description(self) -> dict[str, Any]:
        """PlatformDescription (DescribePlatformVersion): an EB-managed, supported platform."""
        return {
            "PlatformArn": PLATFORM_ARN.format(region=self.region),
            "PlatformOwner": "AWSElasticBeanstalk",
            "PlatformName": "Python 3.11 running on 64bit Amazon Linux 2023",
            "PlatformVersion": "4.3.0",
            "SolutionStackName": SOLUTION_STACK,
            "PlatformStatus": "Ready",
            "PlatformCategory": "Python",
            "OperatingSystemName": "Amazon Linux 2023",
            "SupportedTierList": ["WebServer/Standard", "Worker/SQS/HTTP"],
        }

    def refreshed_at(self) -> dt.datetime:
        """When enhanced health last refreshed (a few seconds ago)."""
        return now() - dt.timedelta(seconds=5)

    def health_description(self) -> dict[str, Any]:
        """DescribeEnvironmentHealth result."""
        counts = dict.fromkeys(
            ("NoData", "Unknown", "Pending", "Ok", "Info", "Warning", "Degraded", "Severe"), 0
        )
        for inst in self.instances:
            counts[inst.health_status] = counts.get(inst.health_status, 0) + 1
        return {
            "EnvironmentName": self.name,
            "HealthStatus": self.health_status,
            # The API's Status here is the colour enum (Green/Yellow/Red/Grey).
            "Status": self.health,
            "Color": self.health,
            "Causes": list(self.causes),
            "ApplicationMetrics": _metrics(self.request_count, self.status_5xx),
            "InstancesHealth": counts,
            "RefreshedAt": self.refreshed_at(),
        }

    def option_settings(self) -> list[dict[str, str]]:
        """ConfigurationOptionSetting list (env vars, CloudWatch logs, extras)."""
        settings = [
            {"Namespace": ENV_NAMESPACE, "OptionName": k, "Value": v}
            for k, v in sorted(self.env_vars.items())
        ]
        settings += [
            {
                "Namespace": LOGS_NAMESPACE,
                "OptionName": "StreamLogs",
                "Value": "true" if self.stream_logs else "false",
            },
            {"Namespace": LOGS_NAMESPACE, "OptionName": "DeleteOnTerminate", "Value": "false"},
            {
                "Namespace": LOGS_NAMESPACE,
                "OptionName": "RetentionInDays",
                "Value": str(self.log_retention_days),
            },
        ]
        settings += [
            {"Namespace": ns, "OptionName": opt, "Value": value}
            for (ns, opt), value in sorted(self.extra_options.items())
        ]
        return settings

    def configuration_description(self) -> dict[str, Any]:
        """ConfigurationSettingsDescription (DescribeConfigurationSettings)."""
        return {
            "SolutionStackName": SOLUTION_STACK,
            "PlatformArn": PLATFORM_ARN.format(region=self.region),
            "ApplicationName": self.application,
            "EnvironmentName": self.name,
            "Tier": {"Name": "WebServer", "Type": "Standard", "Version": "1.0"},
            "DeploymentStatus": "deployed",
            "DateCreated": self.date_created,
            "DateUpdated": self.date_updated,
            "OptionSettings": self.option_settings(),
        }

    # -- behaviour ------------------------------------------------------------------------------
    def add_event(
        self, message: str, severity: str = "INFO", when: dt.datetime | None = None
    ) -> StubEvent:
        """Append an event (shown newest first by DescribeEvents)."""
        request_id = self._events_request_id
        event = StubEvent(message, severity, when or now(), self.version_label, request_id)
        self.events.append(event)
        return event

    def set_option(self, namespace: str, option: str, value: str) -> None:
        """Set one option as a successful UpdateEnvironment would."""
        if namespace == ENV_NAMESPACE:
            self.env_vars[option] = value
        elif (namespace, option) == (LOGS_NAMESPACE, "StreamLogs"):
            self.stream_logs = value.lower() == "true"
        elif (namespace, option) == (LOGS_NAMESPACE, "RetentionInDays"):
            self.log_retention_days = int(value)
        else:
            self.extra_options[(namespace, option)] = value

    def start_update(
        self,
        version_label: str | None,
        settings: list[tuple[str, str, str]],
        removals: list[tuple[str, str]],
        request_id: str | None = None,
    ) -> None:
        """Begin an UpdateEnvironment: Updating, abortable, events as EB writes them."""
        self.update = StubUpdate(
            version_label, self.version_label, settings, removals, self.update_polls, request_id
        )
        self._events_request_id = request_id
        self.status = "Updating"
        self.abortable_operation_in_progress = True
        self.health_status = "Info"
        self.causes = ["Command is executing on all instances."]
        self.date_updated = now()
        self.add_event("Environment update is starting.")
        if version_label:
            self.add_event("Deploying new version to instance(s).")
            for inst in self.instances:
                inst.deployment_status = "In Progress"
        if settings or removals:
            self.add_event(f"Updating environment {self.name}'s configuration settings.")
        if self.update_polls == 0:
            self.finish_update(self.update_outcome == "success")

    def count_poll(self) -> None:
        """One describe call; ends the update when ``update_polls`` have passed."""
        if self.update is None or self.update.polls_left is None:
            return
        self.update.polls_left -= 1
        if self.update.polls_left <= 0:
            self.finish_update(self.update_outcome == "success")

    def finish_update(self, success: bool = True) -> None:
        """End the update in progress: new version and settings, or a failed deployment."""
        update = self.update
        assert update is not None, f"{self.name} has no update in progress"
        self.update = None
        self.status = "Ready"
        self.abortable_operation_in_progress = False
        self.date_updated = now()
        if success:
            for ns, opt, value in update.option_settings:
                self.set_option(ns, opt, value)
            for ns, opt in update.options_to_remove:
                if ns == ENV_NAMESPACE:
                    self.env_vars.pop(opt, None)
                else:
                    self.extra_options.pop((ns, opt), None)
            if update.version_label:
                self.version_label = update.version_label
                for inst in self.instances:
                    inst.deployment_version = update.version_label
                    inst.deployment_id += 1
                    inst.deployment_status = "Deployed"
                    inst.deployment_time = now()
                self.add_event("New application version was deployed to running EC2 instances.")
            if update.option_settings or update.options_to_remove:
                self.add_event("Successfully deployed new configuration to environment.")
            self.add_event("Environment update completed successfully.")
            self.health, self.health_status, self.causes = "Green", "Ok", []
            update.outcome = "succeeded"
        else:
            first = self.instances[0].instance_id if self.instances else "i-unknown"
            for inst in self.instances:
                inst.deployment_status = "Failed"
            self.add_event(
                f"[Instance: {first}] Command failed on instance. Return code: 1 Output: "
                "Engine execution has encountered an error..",
                "ERROR",
            )
            self.add_event(
                f"Unsuccessful command execution on instance id(s) '{first}'. "
                "Aborting the operation.",
                "ERROR",
            )
            self.add_event("Failed to deploy application.", "ERROR")
            self.health, self.health_status = "Red", "Degraded"
            self.causes = [
                f"Incorrect application version found on all instances. "
                f'Expected version "{update.version_label}".'
            ]
            update.outcome = "failed"
        self.history.append(update)
        self._events_request_id = None

    def abort_update(self) -> None:
        """AbortEnvironmentUpdate: back to the previous version, Ready."""
        update = self.update
        assert update is not None
        self.update = None
        self.add_event("Environment update is being aborted.", "WARN")
        self.version_label = update.previous_version_label
        for inst in self.instances:
            inst.deployment_status = "Deployed"
        self.status = "Ready"
        self.abortable_operation_in_progress = False
        self.health_status, self.causes = "Ok", []
        self.add_event("Environment update was aborted.", "WARN")
        update.outcome = "aborted"
        self.history.append(update)
        self._events_request_id = None
