"""Fixtures of the checks UI tests: a local web server, the test checklist, a session, the app."""

from __future__ import annotations

import json
import shlex
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from checksui_pilot import START

from rsdeploy_tui.app import RunbookApp, make_app
from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import Session, SessionState, SessionStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MANAGE_PY = REPO / "tests" / "support" / "fake_django" / "manage.py"


class Handler(BaseHTTPRequestHandler):
    """/ok (JSON 200), /status/<code>, /slow (answers once the test releases it)."""

    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        if self.path == "/slow":
            # Held until the test says so (never longer than 20 s): no timing in the tests.
            self.server.slow_entered.set()
            self.server.release.wait(20)
        if self.path.startswith("/status/"):
            status, body = int(self.path.rsplit("/", 1)[-1]), b"broken"
        else:
            status, body = 200, json.dumps({"status": "healthy"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    """The test site; ``release`` lets /slow answer."""

    daemon_threads = True
    release: threading.Event
    slow_entered: threading.Event

    def handle_error(self, request: object, client_address: object) -> None:
        # A cancelled check closes its connection mid-request: expected, not worth a trace.
        return


@dataclass
class Site:
    """Where the local site answers, and a closed port (connection refused)."""

    base_url: str
    closed_url: str
    server: Server

    def hold_slow(self) -> None:
        """/slow blocks until ``release_slow``."""
        self.server.release.clear()
        self.server.slow_entered.clear()

    def release_slow(self) -> None:
        """Let /slow answer."""
        self.server.release.set()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    """One local HTTP server for the whole run."""
    server = Server(("127.0.0.1", 0), Handler)
    server.release = threading.Event()
    server.release.set()
    server.slow_entered = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}",
                   f"http://127.0.0.1:{_closed_port()}", server)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def checklist() -> Checklist:
    """tests/checksui/checks.yaml."""
    return load_checklist(HERE / "checks.yaml")


@pytest.fixture
def values(checklist: Checklist, site: Site, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Vars pointing the checks at the local site and the fake manage.py."""
    monkeypatch.setenv("FAKE_DJANGO_MIGRATIONS", "pending")
    manage = shlex.join([sys.executable, str(MANAGE_PY)])
    return resolve_vars(checklist, {"base_url": site.base_url, "closed_url": site.closed_url,
                                    "manage": manage}, config={})


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    """A store in tmp with a fixed clock and fixed session ids (snapshots show the id)."""
    import rsdeploy_tui.session.store as store_module

    ids = iter(f"20261126T020000Z-c{n:03d}" for n in range(100))
    monkeypatch.setattr(store_module, "new_session_id", lambda moment: next(ids))
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RSDEPLOY_CONFIG_DIR", str(tmp_path / "config"))
    return SessionStore(tmp_path / "state" / "sessions", clock=lambda: START)


@pytest.fixture
def session(store: SessionStore, checklist: Checklist,
            values: dict[str, str]) -> Iterator[Session]:
    """A fresh session on the test checklist, operated by ana."""
    s = store.create(checklist, vars=values, operator="ana")
    yield s
    s.close()


@pytest.fixture
def stored(store: SessionStore, checklist: Checklist) -> Callable[[str], SessionState]:
    """Reload a session's state from disk, read-only: what is really durable."""

    def load(session_id: str) -> SessionState:
        return store.open(session_id, read_only=True).state(checklist)

    return load


@pytest.fixture
def app_for(checklist: Checklist, values: dict[str, str]) -> Callable[..., RunbookApp]:
    """Build the app the way the command line does, on a session."""

    def build(session: Session, **kwargs: object) -> RunbookApp:
        return make_app(checklist, session, values=values, use_git=False, ascii_only=False,
                        clock=lambda: START + timedelta(minutes=12, seconds=34),
                        **kwargs)  # type: ignore[arg-type]

    return build
