"""The real EB CLI (``awsebcli`` from PyPI) in a venv of its own, talking to 127.0.0.1 only.

``awsebcli`` pins its own botocore, so it cannot share the test venv. The session fixture
``real_eb`` builds ``<cache>/awsebcli-<version>`` once (``pip install awsebcli==<version>``) and
reuses it while present; the cache is ``$RSDEPLOY_TEST_CACHE`` or ``~/.cache/rsdeploy-tests``.
Under CI the run builds its own copy in its temp dir, so a green CI proves the install works.

Routing (no flag in the commands the checklist runs): Elastic Beanstalk calls go to ``EbApiStub``
through ``AWS_ENDPOINT_URL_ELASTIC_BEANSTALK`` (botocore honours per-service endpoint variables;
the CLI's hidden ``--endpoint-url`` does the same for EB only), CloudWatch Logs and S3 to moto
through ``AWS_ENDPOINT_URL``.

Fixtures:
    real_eb (session): ``RealEb`` (``.eb`` the executable, ``.bin_dir`` a dir holding only ``eb``).
    eb_project (function): an ``eb init``-ed application dir (``.elasticbeanstalk/config.yml``)
        for ``rs-systems`` / ``rs-systems-prod``, the stub environment added, ``eb`` first on PATH.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.real_parts import in_ci, need

AWSEBCLI_VERSION = "3.27.5"
APPLICATION = "rs-systems"
ENVIRONMENT = "rs-systems-prod"

CONFIG_YML = """\
branch-defaults:
  default:
    environment: {env}
global:
  application_name: {app}
  default_ec2_keyname: null
  default_platform: Python 3.11 running on 64bit Amazon Linux 2023
  default_region: {region}
  include_git_submodules: true
  instance_profile: null
  platform_name: null
  platform_version: null
  profile: null
  sc: null
  workspace_type: Application
"""


@dataclasses.dataclass(frozen=True)
class RealEb:
    """An installed EB CLI."""

    venv: Path
    bin_dir: Path
    """A directory holding only ``eb`` (put it first on PATH without shadowing python)."""

    @property
    def eb(self) -> Path:
        """The ``eb`` executable."""
        return self.bin_dir / "eb"


def _cache_root() -> Path:
    return Path(os.environ.get("RSDEPLOY_TEST_CACHE") or Path.home() / ".cache" / "rsdeploy-tests")


COMPLETE_MARK = ".rsdeploy-complete"
"""Written last by a build: a venv without it (a killed build) is removed and built again.
(A venv cannot be built elsewhere and renamed: its scripts name their interpreter's path.)"""


def build_eb_venv(target: Path) -> None:
    """Create ``target`` with awsebcli installed."""
    shutil.rmtree(target, ignore_errors=True)
    venv.create(target, with_pip=True, symlinks=True)
    pip = subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", f"awsebcli=={AWSEBCLI_VERSION}"],
        capture_output=True, text=True, timeout=900,
    )
    if pip.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        need("the EB CLI (awsebcli)", f"pip could not install it: {pip.stderr.strip()[-600:]}",
             "a reachable package index (pip install awsebcli)")
    (target / COMPLETE_MARK).write_text(AWSEBCLI_VERSION)


def _usable(venv_dir: Path) -> bool:
    eb = venv_dir / "bin" / "eb"
    if not (venv_dir / COMPLETE_MARK).is_file() or not eb.is_file():
        return False
    probe = subprocess.run([str(eb), "--version"], capture_output=True, text=True, timeout=120)
    return probe.returncode == 0 and AWSEBCLI_VERSION in probe.stdout


@pytest.fixture(scope="session")
def real_eb(tmp_path_factory: pytest.TempPathFactory) -> RealEb:
    """The real EB CLI, built once into the cache (under CI: built by this run)."""
    if in_ci():
        # built by this run: once, shared by its xdist workers (the lock below serializes them)
        base = tmp_path_factory.getbasetemp()
        root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "eb-cli"
        root.mkdir(exist_ok=True)
    else:
        root = _cache_root()
        root.mkdir(parents=True, exist_ok=True)
    venv_dir = root / f"awsebcli-{AWSEBCLI_VERSION}"
    # Several test runs (worktrees, CI) may share the cache: one builds, the others wait for it.
    with open(root / f"awsebcli-{AWSEBCLI_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _usable(venv_dir):
            build_eb_venv(venv_dir)
        if not _usable(venv_dir):
            need("the EB CLI (awsebcli)", f"{venv_dir}/bin/eb --version does not run",
                 f"rm -rf {venv_dir} and run the tests again")
        bin_dir = root / f"awsebcli-{AWSEBCLI_VERSION}-bin"
        bin_dir.mkdir(exist_ok=True)
        link = bin_dir / "eb"
        if not link.exists():
            link.symlink_to(venv_dir / "bin" / "eb")
    return RealEb(venv_dir, bin_dir)


@dataclasses.dataclass
class EbProject:
    """An application directory ``eb`` treats as initialised, and a way to run ``eb`` in it."""

    root: Path
    real_eb: RealEb
    stub: Any
    """The ``EbApiStub`` (support.eb_stub) serving Elastic Beanstalk."""
    environment: Any
    """The stub's ``StubEnvironment`` for ``rs-systems-prod``."""

    def env(self) -> dict[str, str]:
        """os.environ as the fixtures set it (fake keys, endpoints), ``eb`` first on PATH."""
        # `eb health` draws a screen the size of the terminal (COLUMNS/LINES, else 80x24 when
        # its output is a pipe): a fixed size, so its tables hold every instance wherever the
        # tests run (an xdist worker's environment had a smaller one)
        return {**os.environ, "COLUMNS": "200", "LINES": "60",
                "PATH": f"{self.real_eb.bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``eb ARGS`` in the project dir, stdout a pipe (the CLI's plain-line streamer)."""
        return subprocess.run(
            [str(self.real_eb.eb), *args], cwd=self.root, env=self.env(),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )


def init_project(root: Path, region: str = "us-east-1") -> Path:
    """Write the ``eb init`` state (``.elasticbeanstalk/config.yml``) into ``root``."""
    (root / ".elasticbeanstalk").mkdir(parents=True, exist_ok=True)
    (root / ".elasticbeanstalk" / "config.yml").write_text(
        CONFIG_YML.format(env=ENVIRONMENT, app=APPLICATION, region=region)
    )
    return root


@pytest.fixture
def eb_project(
    real_eb: RealEb, aws_env: Any, eb_stub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EbProject]:
    """``rs-systems-prod`` on the stub, an initialised project dir, and the real ``eb``."""
    root = init_project(tmp_path / "app", aws_env.region)
    # The CLI keeps state under ~ (~/.elasticbeanstalk, ~/.aws): keep it out of the real home.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    environment = eb_stub.add_environment(ENVIRONMENT, application=APPLICATION)
    yield EbProject(root, real_eb, eb_stub, environment)


__all__ = ["AWSEBCLI_VERSION", "EbProject", "RealEb", "build_eb_venv", "init_project"]
