"""Local HTTP and HTTPS servers on 127.0.0.1 for the web and TLS checks (and bench/checks.py).

One request handler serves every route; servers differ by certificate: a good one for 127.0.0.1,
an expired one, one for another host name; plus a plain HTTP server (redirects, and a TLS
handshake failure when an https:// URL points at it).
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

SECURE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
LOGIN_PAGES = ("/login", "/app/login/", "/tech/login/", "/admin/login/")
BIG_BODY_BYTES = 10 * 1024 * 1024
SLOW_SECONDS = 0.5


class Handler(BaseHTTPRequestHandler):
    """Routes used by the tests; ``self.server.https_port`` is where /to-https points."""

    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              cookies: tuple[str, ...] = (), content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        page = b"<html><body><h1>RS Systems</h1></body></html>"
        if path == "/health":
            self._send(200, json.dumps({"status": "healthy", "database": "ok"}).encode(),
                       content_type="application/json")
        elif path == "/unhealthy":
            self._send(200, json.dumps({"status": "degraded"}).encode(),
                       content_type="application/json")
        elif path == "/" and not self.server.tls:
            # The plain HTTP site only redirects, like the ALB in front of production.
            self._send(301, headers={
                "Location": f"https://127.0.0.1:{self.server.https_port}/"})
        elif path == "/admin/":
            self._send(302, headers={"Location": "/admin/login/?next=/admin/"})
        elif path == "/":
            self._send(200, page, SECURE_HEADERS,
                       ("csrftoken=abc; Path=/; Secure; SameSite=Lax",
                        "sessionid=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax"))
        elif path == "/bare":
            self._send(200, page, cookies=("sessionid=s3cr3t; Path=/",))
        elif path == "/weak":
            self._send(200, page, {"Strict-Transport-Security": "max-age=300",
                                   "X-Frame-Options": "ALLOWALL",
                                   "X-Content-Type-Options": "nosniff",
                                   "Referrer-Policy": "unsafe-url"})
        elif path == "/session-not-httponly":
            self._send(200, page, cookies=("sessionid=s3cr3t; Path=/; Secure",))
        elif path in LOGIN_PAGES or path == "/open-form":
            self._send(200, b'<form method="post"><input name="csrfmiddlewaretoken"></form>',
                       cookies=("csrftoken=tok; Path=/; Secure",))
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, b"slow page")
        elif path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(BIG_BODY_BYTES))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(BIG_BODY_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client stopped reading at its cap: that is the point
        elif path == "/badjson":
            self._send(200, b'{"status": "healthy",', content_type="application/json")
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path == "/to-https":
            self._send(301, headers={
                "Location": f"https://127.0.0.1:{self.server.https_port}/"})
        elif path == "/to-http":
            self._send(301, headers={"Location": "http://127.0.0.1/elsewhere"})
        elif path == "/to-no-tls":
            # https:// on the plain HTTP port: the redirect target does not speak TLS.
            self._send(301, headers={"Location": f"https://127.0.0.1:{self.server.http_port}/"})
        elif path == "/to-frozen":
            self._send(301, headers={
                "Location": f"https://127.0.0.1:{self.server.frozen_port}/"})
        elif path == "/to-https-loop":
            self._send(301, headers={
                "Location": f"https://127.0.0.1:{self.server.https_port}/https-loop-a"})
        elif path == "/https-loop-a":
            self._send(302, headers={"Location": "/https-loop-b"})
        elif path == "/https-loop-b":
            self._send(302, headers={"Location": "/https-loop-a"})
        elif path == "/to-https-missing":
            self._send(301, headers={
                "Location": f"https://127.0.0.1:{self.server.https_port}/status/404"})
        elif path == "/endless":
            # Chunked and never ending (until the client hangs up).
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass
        elif path == "/to-other-host":
            self._send(301, headers={"Location": "https://other.invalid/"})
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"status page")
        else:
            self._send(404, b"not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        path = self.path.split("?")[0]
        if path in LOGIN_PAGES:
            # Django's rule: the form token must match the csrftoken cookie.
            cookie = self.headers.get("Cookie", "")
            if "csrftoken=tok" in cookie and "csrfmiddlewaretoken=tok" in body:
                self._send(302, headers={"Location": "/"})
            else:
                self._send(403, b"<h1>Forbidden (403)</h1><p>CSRF verification failed.</p>")
        elif path == "/open-form":
            self._send(200, b"thanks")
        else:
            self._send(405, b"method not allowed")


class Server(ThreadingHTTPServer):
    """A threaded server that accepts many connections at once (30 concurrent in the bench)."""

    request_queue_size = 128
    daemon_threads = True
    https_port = 0
    http_port = 0
    frozen_port = 0
    tls = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-body or never speak TLS are the hostile cases under test


@dataclass
class Site:
    """A running server: ``url`` ends without a slash (``https://127.0.0.1:PORT``)."""

    url: str
    port: int


@dataclass
class WebServers:
    """Everything the web tests point at."""

    ca_file: Path
    https: Site
    http: Site
    expired: Site
    wrong_host: Site
    refused_port: int
    frozen_port: int = 0
    """Accepts TCP connections (kernel backlog) and never answers: a frozen server."""

    @property
    def not_tls(self) -> str:
        """An https:// URL answered by the plain HTTP server: the TLS handshake fails."""
        return f"https://127.0.0.1:{self.http.port}"


def _serve(context: ssl.SSLContext | None) -> tuple[Server, threading.Thread]:
    server = Server(("127.0.0.1", 0), Handler)
    if context is not None:
        # Handshake in the handler thread, so a client that never speaks TLS blocks nobody.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        server.tls = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def web_servers(directory: Path) -> Iterator[WebServers]:
    """Start every server; certificates and the CA file are written under ``directory``."""
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.datetime.now(datetime.UTC)
    certs = {
        "https": ca.issue_cert("127.0.0.1", "localhost"),
        "expired": ca.issue_cert("127.0.0.1", not_before=now - datetime.timedelta(days=60),
                                 not_after=now - datetime.timedelta(days=1)),
        "wrong_host": ca.issue_cert("wrong-host.example"),
    }
    servers: dict[str, Server] = {}
    for name, cert in certs.items():
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        servers[name], _ = _serve(context)
    servers["http"], _ = _serve(None)
    https_port = servers["https"].server_address[1]
    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(64)  # never accept(): connections complete, nothing is ever said
    for server in servers.values():
        server.https_port = https_port
        server.http_port = servers["http"].server_address[1]
        server.frozen_port = frozen.getsockname()[1]

    def site(name: str) -> Site:
        port = int(servers[name].server_address[1])
        scheme = "http" if name == "http" else "https"
        return Site(f"{scheme}://127.0.0.1:{port}", port)

    try:
        yield WebServers(ca_file, site("https"), site("http"), site("expired"),
                         site("wrong_host"), _free_port(), frozen.getsockname()[1])
    finally:
        frozen.close()
        for server in servers.values():
            server.shutdown()
            server.server_close()
