"""EbApiStub: a local Elastic Beanstalk Query API on 127.0.0.1 with state the test controls.

moto lacks DescribeEnvironmentHealth, DescribeEvents, DescribeConfigurationSettings,
DescribeInstancesHealth, UpdateEnvironment and AbortEnvironmentUpdate, so this stub serves those
plus DescribeEnvironments. Responses are generated from botocore's model (``query_xml``), so a real
``boto3.client("elasticbeanstalk", endpoint_url=stub.url)`` parses them.

Fixtures:
    eb_stub_server (session): the running ``EbApiStub``.
    eb_stub (function): the same stub with state cleared, and ``AWS_ENDPOINT_URL_ELASTIC_BEANSTALK``
        pointing at it (fake credentials from ``aws_credentials``). With ``aws_env`` as well,
        every other service still goes to moto.

Deployments are deterministic, never timed: ``UpdateEnvironment`` puts the environment in
``Updating``; it finishes when the test calls ``env.finish_update()``, or by itself after
``env.update_polls`` describe calls (DescribeEnvironments/-Health/-InstancesHealth/-Events).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from support.eb_model import StubEnvironment, StubEvent, StubInstance, StubUpdate, severity_at_least
from support.query_xml import error_xml, member_list, parse_form, parse_timestamp, response_xml

__all__ = [
    "EbApiStub",
    "StubCall",
    "StubEnvironment",
    "StubError",
    "StubEvent",
    "StubInstance",
    "StubUpdate",
]

SUPPORTED_ACTIONS = (
    "DescribeEnvironments",
    "DescribeEnvironmentHealth",
    "DescribeInstancesHealth",
    "DescribeEvents",
    "DescribeConfigurationSettings",
    "UpdateEnvironment",
    "AbortEnvironmentUpdate",
    "DescribePlatformVersion",  # the real `eb status` asks it about the environment's platform
)
# Calls that count as one "poll" towards an automatic end of an update.
_POLLING_ACTIONS = frozenset(SUPPORTED_ACTIONS[:4])


class StubError(Exception):
    """An AWS error the stub answers with (Query ``ErrorResponse``, HTTP ``status``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclasses.dataclass(frozen=True)
class StubCall:
    """One request the stub received."""

    action: str
    params: dict[str, str]
    """Raw form parameters (``OptionSettings.member.1.Namespace`` ...)."""


class EbApiStub:
    """Local Elastic Beanstalk API; mutate ``environments`` (under ``lock``) to steer it."""

    def __init__(self, region: str = "us-east-1") -> None:
        import botocore.session

        self.region = region
        self.model = botocore.session.get_session().get_service_model("elasticbeanstalk")
        self.lock = threading.RLock()
        self.environments: dict[str, StubEnvironment] = {}
        self.calls: list[StubCall] = []
        self._failures: dict[str, list[StubError]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Endpoint URL for boto3, e.g. ``http://127.0.0.1:40123``."""
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        """Serve on 127.0.0.1, an OS-chosen port, in a daemon thread."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                status, text = stub.handle(parse_form(body))
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; StubCall records every request instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Forget environments, recorded calls and queued failures."""
        with self.lock:
            self.environments.clear()
            self.calls.clear()
            self._failures.clear()

    # -- test controls --------------------------------------------------------------------------
    def add_environment(self, name: str = "rs-systems-prod", **fields: Any) -> StubEnvironment:
        """Add (or replace) an environment; ``fields`` are ``StubEnvironment`` fields."""
        env = StubEnvironment(name=name, region=self.region, **fields)
        with self.lock:
            self.environments[name] = env
        return env

    def fail(
        self,
        action: str,
        code: str = "ServiceUnavailable",
        message: str = "stub failure",
        status: int = 503,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``action`` with an AWS error."""
        with self.lock:
            self._failures.setdefault(action, []).extend(
                StubError(code, message, status) for _ in range(times)
            )

    def calls_to(self, action: str) -> list[StubCall]:
        """Recorded calls of one action, oldest first."""
        with self.lock:
            return [c for c in self.calls if c.action == action]

    # -- request handling -----------------------------------------------------------------------
    def handle(self, params: dict[str, str]) -> tuple[int, str]:
        """Answer one request: (HTTP status, XML body)."""
        action = params.get("Action", "")
        with self.lock:
            self.calls.append(StubCall(action, dict(params)))
            try:
                if action not in SUPPORTED_ACTIONS:
                    raise StubError("InvalidAction", f"EbApiStub does not implement {action!r}")
                queued = self._failures.get(action)
                if queued:
                    raise queued.pop(0)
                if action in _POLLING_ACTIONS:
                    for env in self.environments.values():
                        env.count_poll()
                # The real `eb deploy` follows the events of its own RequestId only.
                request_id = str(uuid.uuid4())
                params["_RequestId"] = request_id
                result = getattr(self, f"_do_{action}")(params)
                return 200, response_xml(self.model, action, result, request_id)
            except StubError as exc:
                return exc.status, error_xml(self.model, exc.code, exc.message, exc.status < 500)

    def _env(self, params: dict[str, str], code: str = "InvalidParameterValue") -> StubEnvironment:
        name = params.get("EnvironmentName")
        env_id = params.get("EnvironmentId")
        for env in self.environments.values():
            if (name and env.name == name) or (env_id and env.environment_id == env_id):
                return env
        what = f"EnvironmentName = '{name}'" if name else f"EnvironmentId = '{env_id}'"
        raise StubError(code, f"No Environment found for {what}.")

    def _do_DescribeEnvironments(self, params: dict[str, str]) -> dict[str, Any]:
        names = set(member_list(params, "EnvironmentNames"))
        ids = set(member_list(params, "EnvironmentIds"))
        app = params.get("ApplicationName")
        version = params.get("VersionLabel")
        envs = [
            e.description()
            for e in self.environments.values()
            if (not names or e.name in names)
            and (not ids or e.environment_id in ids)
            and (not app or e.application == app)
            and (not version or e.version_label == version)
        ]
        return {"Environments": envs}

    def _do_DescribeEnvironmentHealth(self, params: dict[str, str]) -> dict[str, Any]:
        env = self._env(params, code="InvalidRequestException")
        return _only(
            env.health_description(),
            member_list(params, "AttributeNames"),
            always=("EnvironmentName",),
        )

    def _do_DescribeInstancesHealth(self, params: dict[str, str]) -> dict[str, Any]:
        env = self._env(params, code="InvalidRequestException")
        wanted = member_list(params, "AttributeNames")
        return {
            "InstanceHealthList": [
                _only(i.description(env), wanted, always=("InstanceId",)) for i in env.instances
            ],
            "RefreshedAt": env.refreshed_at(),
        }

    def _do_DescribeEvents(self, params: dict[str, str]) -> dict[str, Any]:
        events: list[tuple[StubEnvironment, StubEvent]] = [
            (env, ev) for env in self.environments.values() for ev in env.events
        ]
        start = parse_timestamp(params["StartTime"]) if "StartTime" in params else None
        end = parse_timestamp(params["EndTime"]) if "EndTime" in params else None
        selected = [
            ev.description(env)
            for env, ev in events
            if params.get("EnvironmentName") in (None, env.name)
            and params.get("EnvironmentId") in (None, env.environment_id)
            and params.get("ApplicationName") in (None, env.application)
            and params.get("RequestId") in (None, ev.request_id)
            and (start is None or ev.event_date >= start)
            and (end is None or ev.event_date < end)
            and severity_at_least(ev.severity, params.get("Severity", "TRACE"))
        ]
        # Newest first, like EB; events recorded in the same instant keep their recording order
        # reversed too (sorted() is stable, so reverse the list before sorting by date).
        selected.reverse()
        selected.sort(key=lambda d: d["EventDate"], reverse=True)
        offset = int(params.get("NextToken") or 0)
        limit = int(params.get("MaxRecords") or 1000)
        page = selected[offset : offset + limit]
        result: dict[str, Any] = {"Events": page}
        if offset + limit < len(selected):
            result["NextToken"] = str(offset + limit)
        return result

    def _do_DescribeConfigurationSettings(self, params: dict[str, str]) -> dict[str, Any]:
        env = self._env(params)
        if params.get("ApplicationName") != env.application:
            raise StubError(
                "InvalidParameterValue",
                f"No Application named '{params.get('ApplicationName')}' found.",
            )
        return {"ConfigurationSettings": [env.configuration_description()]}

    def _do_UpdateEnvironment(self, params: dict[str, str]) -> dict[str, Any]:
        env = self._env(params)
        if env.status != "Ready":
            raise StubError(
                "InvalidParameterValue",
                f"Environment named {env.name} is in an invalid state for this operation. "
                "Must be Ready.",
            )
        settings = [
            (s.get("Namespace", ""), s.get("OptionName", ""), s.get("Value", ""))
            for s in member_list(params, "OptionSettings")
        ]
        removals = [
            (s.get("Namespace", ""), s.get("OptionName", ""))
            for s in member_list(params, "OptionsToRemove")
        ]
        env.start_update(params.get("VersionLabel"), settings, removals, params["_RequestId"])
        return env.description()

    def _do_DescribePlatformVersion(self, params: dict[str, str]) -> dict[str, Any]:
        arn = params.get("PlatformArn", "")
        for env in self.environments.values():
            described = env.platform_description()
            if described["PlatformArn"] == arn:
                return {"PlatformDescription": described}
        raise StubError("InvalidParameterValue", f"No platform found for PlatformArn = '{arn}'.")

    def _do_AbortEnvironmentUpdate(self, params: dict[str, str]) -> None:
        env = self._env(params)
        if not env.abortable_operation_in_progress:
            raise StubError(
                "InvalidParameterValue",
                f"Environment named {env.name} is in an invalid state for this operation. "
                "Must be Updating with an abortable operation in progress.",
            )
        env.abort_update()
        return None


def _only(
    description: dict[str, Any], attributes: list[str], always: tuple[str, ...]
) -> dict[str, Any]:
    """Keep the requested attributes (EB returns only those named in AttributeNames)."""
    if not attributes or "All" in attributes:
        return description
    keep = set(attributes) | set(always)
    return {k: v for k, v in description.items() if k in keep}


@pytest.fixture(scope="session")
def eb_stub_server() -> Iterator[EbApiStub]:
    """The EbApiStub, started once per session."""
    stub = EbApiStub()
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def eb_stub(
    eb_stub_server: EbApiStub, aws_credentials: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EbApiStub]:
    """The EB stub with empty state; boto3's Elastic Beanstalk client is routed to it."""
    eb_stub_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", eb_stub_server.url)
    yield eb_stub_server
    eb_stub_server.reset()
