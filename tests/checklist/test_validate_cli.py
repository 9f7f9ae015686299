"""`rsdeploy-tui validate` as an operator runs it, and the package installed from a wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def test_validate_prints_counts_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: Mini\nphases:\n  - id: p\n    title: P\n    sections:\n"
                    "      - id: s\n        title: S\n        items:\n"
                    "          - {id: a, text: A, critical: true, command: echo}\n")
    result = cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 phases, 1 sections, 1 items (1 critical, 1 with a command" in result.stdout
    data = json.loads(cli("validate", str(path), "--json").stdout)
    assert data["valid"] is True
    assert data["phases"][0]["sections"][0]["items"][0]["command"] == "echo"


def test_validate_reports_errors_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: Mini\nphases:\n  - id: p\n    title: P\n    gate: [ghost]\n")
    result = cli("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:5: phases[p].gate" in result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(cli("validate", str(path), "--json").stdout)
    assert data["valid"] is False and data["problems"][0]["line"] == 5


@pytest.mark.parametrize("target", ["/nonexistent/checklist.yaml", "/"])
def test_validate_bad_path(target: str) -> None:
    result = cli("validate", target)
    assert result.returncode == 1
    assert target in result.stderr and "Traceback" not in result.stderr


def test_usage_error_exits_2() -> None:
    assert cli("validate", "--set", "nokey").returncode == 2
    assert cli("validate", "--no-such-flag").returncode == 2


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("rsdeploy-tui ")


@pytest.mark.slow
def test_wheel_installs_and_finds_its_checklist_from_anywhere(tmp_path: Path) -> None:
    """Non-editable install into a fresh virtualenv: bundled checklist and styles ship inside."""
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                            "--outdir", str(dist), str(REPO)], capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheel = next(dist.glob("*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The runtime dependencies come from the test interpreter's site-packages (no network).
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                          "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    exe = str(venv / "bin" / "rsdeploy-tui")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, cwd=elsewhere,
                             env=env, timeout=60)
    assert version.returncode == 0, version.stderr
    validate = subprocess.run([exe, "validate", "--json"], capture_output=True, text=True,
                              cwd=elsewhere, env=env, timeout=60)
    assert validate.returncode == 0, validate.stderr
    data = json.loads(validate.stdout)
    assert "/site-packages/rsdeploy_tui/_data/checklists/" in data["path"]
    shipped = {p.name for p in (site / "rsdeploy_tui" / "_data" / "styles").iterdir()}
    assert shipped == {p.name for p in (REPO / "styles").iterdir()}, "styles/ ships in the wheel"


def test_phase_table_columns_line_up_with_long_ids(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: Long\nphases:\n"
        "  - {id: post-deployment-verification, title: Post-Deployment Verification, sections:"
        " [{id: s, title: S, items: [{id: a, text: A}]}]}\n"
        "  - {id: pre, title: Pre, sections: [{id: t, title: T, items: [{id: b, text: B}]}]}\n"
    )
    rows = [line for line in cli("validate", str(path)).stdout.splitlines() if "items" in line
            and line.startswith("  ")]
    assert len(rows) == 2
    assert rows[0].index(" 1 items") == rows[1].index(" 1 items")
