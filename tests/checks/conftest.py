"""Fixtures of the checks tests: local web servers with trustme certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_servers import WebServers, web_servers


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServers]:
    """HTTPS (good, expired, wrong host), plain HTTP, and a closed port, for the whole run."""
    with web_servers(Path(tmp_path_factory.mktemp("web"))) as servers:
        yield servers
