"""Small helpers shared by the fixtures: free ports and waiting for a server to listen."""

from __future__ import annotations

import socket
import time
from typing import NoReturn


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The port is released before returning, so a server started soon after can bind it; there is a
    small race with other processes, which the fixtures accept (they retry on a failed start).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def skip_or_fail(reason: str) -> NoReturn:
    """Old name, kept so call sites on other branches still work: use :func:`support.need`
    (support/real_parts.py), which names the part and how to install it."""
    from support.real_parts import need

    need(reason, "see the test", "see tests/support/README.md")


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``host:port``.

    Raises:
        TimeoutError: nothing listened within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.02)
