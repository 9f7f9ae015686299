"""The environment banner: ``${eb_env}`` Status, Health, VersionLabel, "update in progress".

A thread worker (group ``banner``, exclusive) asks Elastic Beanstalk every ``interval`` seconds
through ``runner.fetch_env_status`` (boto3 is imported there, in the thread, never at start-up).
A failure is a status: "unknown: <reason>", and the UI never waits for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rich.text import Text
from textual import on, work
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

INTERVAL_S = 12.0
"""Default refresh period (the issue asks for 10-15 s)."""

StatusFetcher = Callable[[str, Mapping[str, str]], Any]
"""``(env_name, vars) -> EnvStatus`` (``runner.fetch_env_status``); blocking."""


def banner_text(status: Any) -> Text:
    """The banner line for an ``EnvStatus``."""
    text = Text()
    text.append(f" {status.env_name} ", style="bold reverse")
    if status.error:
        text.append(f" unknown: {status.error}")
        return text
    health = status.health + (f" / {status.health_status}" if status.health_status else "")
    text.append(f" Status {status.status}  Health {health}  Version {status.version_label}")
    if status.updating:
        text.append("  update in progress", style="bold")
    if status.causes:
        text.append(f"  ({status.causes[0]})")
    return text


def banner_class(status: Any) -> str:
    """State class of the banner: -unknown, -updating, -ok, -warn, -bad."""
    if status.error:
        return "-unknown"
    if status.updating:
        return "-updating"
    return {"Green": "-ok", "Yellow": "-warn", "Red": "-bad"}.get(status.health, "-unknown")


class EnvBanner(Static):
    """One line about the Elastic Beanstalk environment, refreshed in the background."""

    STATES = ("-unknown", "-updating", "-ok", "-warn", "-bad")

    def __init__(
        self,
        vars: Mapping[str, str],
        *,
        fetch: StatusFetcher | None = None,
        interval: float | None = INTERVAL_S,
        id: str | None = "env-banner",
    ) -> None:
        self.vars = dict(vars)
        self.env_name = self.vars.get("eb_env", "")
        # Drawn as "asking" from the first frame (a class set on mount would restyle it again).
        super().__init__(Text(f" {self.env_name} ", style="bold reverse") + Text(" asking AWS..."),
                         id=id, classes="-unknown")
        self._fetch = fetch
        self._interval = interval
        self.status: Any = None

    def on_mount(self) -> None:
        # After the first frame: the worker's thread imports boto3, which would hold the GIL
        # while the runbook is still being drawn.
        self.call_after_refresh(self.refresh_status)
        if self._interval:
            self.set_interval(self._interval, self.refresh_status)

    def refresh_status(self) -> None:
        """Ask again now (a refresh still running is cancelled)."""
        if self.env_name:
            self._ask()

    @work(thread=True, group="banner", exclusive=True, exit_on_error=False)
    def _ask(self) -> None:
        fetch = self._fetch
        if fetch is None:
            from rsdeploy_tui.runner import fetch_env_status

            fetch = fetch_env_status
        status = fetch(self.env_name, self.vars)
        self.app.call_from_thread(self.show_status, status)

    def show_status(self, status: Any) -> None:
        """Draw an ``EnvStatus``."""
        self.status = status
        self.update(banner_text(status))
        wanted = banner_class(status)
        for state in self.STATES:
            self.set_class(state == wanted, state)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "banner" and event.state == WorkerState.ERROR:
            from rsdeploy_tui.runner import EnvStatus

            error = event.worker.error
            self.show_status(EnvStatus(self.env_name, error=f"{type(error).__name__}: {error}"))


def compose_env_banner(values: Mapping[str, str], services: Mapping[str, Any]) -> Iterator[Widget]:
    """The environment banner under the runbook's header, when there is an ``eb_env`` to watch
    (``services``: ``banner`` False for none, ``env_status`` fetch, ``banner_interval``)."""
    if values.get("eb_env") and services.get("banner", True):
        yield EnvBanner(dict(values), fetch=services.get("env_status"),
                        interval=services.get("banner_interval", 12.0))
