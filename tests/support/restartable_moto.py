"""moto's server on one fixed 127.0.0.1 port that can be stopped and started again.

It runs in the test process, as the session's ``moto_server`` does, so both share moto's state:
a bucket made through one is there through the other. Stopping it is a machine losing the
network to the store; starting it again, the network coming back (#18).
"""

from __future__ import annotations

import logging
import socket
import time


class Restartable:
    """moto's server on one fixed 127.0.0.1 port that can be stopped and started again (its
    state lives in this process, so the bucket survives)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: object | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "moto did not start again"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()  # type: ignore[attr-defined]
            self.server = None
