"""Two "machines" on one shared store: separate state dirs, one moto S3 bucket (#18)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.session.shared.store import SharedStore
from rsdeploy_tui.session.shared.url import StoreUrl, parse_store_url
from support.restartable_moto import Restartable

MINI = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"
BUCKET = "rsdeploy-shared"


@pytest.fixture
def mini() -> Checklist:
    """The small UI checklist."""
    return load_checklist(MINI)


@pytest.fixture
def store_url(aws_env: object) -> StoreUrl:
    """``s3://rsdeploy-shared/team`` on moto (a fresh bucket per test)."""
    aws_env.create_bucket(BUCKET)  # type: ignore[attr-defined]
    return parse_store_url(f"s3://{BUCKET}/team", "test")


@pytest.fixture
def machine(tmp_path: Path, store_url: StoreUrl) -> Callable[[str], SessionStore]:
    """``machine("a")``: a SessionStore with its own state dir on the shared store."""

    def make(name: str) -> SessionStore:
        return SessionStore(tmp_path / name / "sessions", shared=SharedStore(store_url))

    return make


@pytest.fixture
def s3(aws_env: object) -> object:
    """A plain boto3 S3 client on moto (to look at, or damage, the objects)."""
    return aws_env.client("s3")  # type: ignore[attr-defined]


_OTHER_HOST_OK: bool | None = None


@pytest.fixture
def other_host() -> Callable[[str], list[str]]:
    """``other_host("machine-a") + [python, ...]``: the command runs under another host name.

    Two "machines" on one computer share its host name, and a lease naming this host whose
    process is gone is free at once; a real second host must wait for the lease's expiry.
    ``unshare --uts`` gives the process its own host name (a UTS namespace: root, Linux), so
    the lease it writes names another host, as a second machine's would.
    """
    import shutil
    import subprocess

    from support.real_parts import need

    global _OTHER_HOST_OK
    if _OTHER_HOST_OK is None:
        found = shutil.which("unshare")
        _OTHER_HOST_OK = found is not None and subprocess.run(
            [found, "--uts", "sh", "-c", "hostname rsdeploy-probe && hostname"],
            capture_output=True, text=True, timeout=30).stdout.strip() == "rsdeploy-probe"
    if not _OTHER_HOST_OK:
        need("unshare --uts (util-linux, as root)", "a process with another host name stands "
             "for a second machine", "apt-get install util-linux; run the tests as root")

    def command(name: str) -> list[str]:
        return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', name]

    return command


@pytest.fixture
def restartable(store_url: StoreUrl) -> Iterator[Restartable]:
    server = Restartable()
    server.start()
    try:
        yield server
    finally:
        server.stop()

