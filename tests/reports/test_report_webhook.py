"""The chat webhook: a Slack-compatible JSON POST to a local server; failures are results."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from reports_factory import START, FixedClock, frozen, make_store, session_vars
from textual.widgets import Static
from widget_host import WidgetHost

from rsdeploy_tui.reports import post_message
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.widgets.communication import CommunicationPanel


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        _Hook.received.append({"path": self.path, "type": self.headers.get("Content-Type"),
                               "json": json.loads(body)})
        status, answer = (200, b"ok") if self.path.startswith("/ok") else (500, b"boom inside")
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def hook_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def received() -> list[dict[str, Any]]:
    _Hook.received.clear()
    return _Hook.received


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_post_sends_slack_json(hook_server: str, received: list[dict[str, Any]]) -> None:
    result = await post_message(f"{hook_server}/ok/T000/B000/XXXX", "Deployment in progress")
    assert result.ok and result.status == 200
    assert received == [{"path": "/ok/T000/B000/XXXX", "type": "application/json",
                         "json": {"text": "Deployment in progress"}}]
    # the token in the path is never part of what gets recorded
    assert "XXXX" not in json.dumps(result.as_fact("status_in_progress"))


async def test_post_failures_are_results(hook_server: str, received: list[dict[str, Any]]) -> None:
    failed = await post_message(f"{hook_server}/fail", "x")
    assert not failed.ok and failed.status == 500
    assert failed.detail == "127.0.0.1 answered HTTP 500: boom inside"
    refused = await post_message(f"http://127.0.0.1:{_closed_port()}/hook", "x")
    assert not refused.ok and refused.status is None
    assert refused.detail == "could not connect to 127.0.0.1: connection refused"
    bad = await post_message("ftp://example.invalid/hook", "x")
    assert not bad.ok and "https://" in bad.detail


def _session(tmp_path: Path, url: str) -> tuple[Session, Any, dict[str, str]]:
    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    values = session_vars(checklist, tmp_path, notify_webhook_url=url)
    session = store.create(checklist, vars=values, operator="ana")
    session.record("fact", name="changes", value=["Manager assignment"])
    return session, checklist, values


def _panel(session: Session, checklist: Any, values: dict[str, str]) -> CommunicationPanel:
    return CommunicationPanel(checklist, session, vars=values, clock=FixedClock(START),
                              use_git=False)


async def _post_from_tab(session: Session, checklist: Any, values: dict[str, str]) -> WidgetHost:
    app = WidgetHost(lambda: _panel(session, checklist, values))
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("down")  # "Status: deployment in progress"
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.status_text = str(app.query_one("#comm-status", Static).render())  # type: ignore[attr-defined]
        app.notes = [n.message for n in app._notifications]  # type: ignore[attr-defined]
    return app


async def test_post_from_the_tab_reaches_the_hook_and_is_recorded(
        tmp_path: Path, hook_server: str, received: list[dict[str, Any]]) -> None:
    session, checklist, values = _session(tmp_path, f"{hook_server}/ok/secret-token")
    with session:
        app = await _post_from_tab(session, checklist, values)
        assert len(received) == 1
        text = received[0]["json"]["text"]
        assert text.startswith("Subject: Deployment in progress - v1.4.0\n\nTeam,")
        assert "Deployment in progress: v1.4.0 (Sprint 12) to rs-systems-prod." in text
        fact = session.state(checklist).facts["notification.status_in_progress"]
        assert fact == {"message": "status_in_progress", "ok": True, "status": 200,
                        "detail": "posted", "host": "127.0.0.1"}
        assert "Posted to 127.0.0.1" in app.status_text  # type: ignore[attr-defined]


@pytest.mark.parametrize("failure", ["http500", "refused"])
async def test_failed_post_is_a_clear_notice_and_recorded(
        tmp_path: Path, hook_server: str, received: list[dict[str, Any]], failure: str) -> None:
    url = f"{hook_server}/fail" if failure == "http500" else \
        f"http://127.0.0.1:{_closed_port()}/hook"
    session, checklist, values = _session(tmp_path, url)
    with session:
        app = await _post_from_tab(session, checklist, values)
        fact = session.state(checklist).facts["notification.status_in_progress"]
        assert fact["ok"] is False
        notes = app.notes  # type: ignore[attr-defined]
        assert any("NOT posted" in note for note in notes), notes
        expected = "HTTP 500" if failure == "http500" else "connection refused"
        assert any(expected in note for note in notes), notes
        assert expected in app.status_text  # type: ignore[attr-defined]


async def test_post_without_webhook_var_says_how_to_set_it(tmp_path: Path) -> None:
    session, checklist, values = _session(tmp_path, "")
    with session:
        app = await _post_from_tab(session, checklist, values)
        assert any("--set notify_webhook_url=" in n for n in app.notes)  # type: ignore[attr-defined]
        assert "notification.status_in_progress" not in session.state(checklist).facts
