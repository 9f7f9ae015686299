"""Files that are not what they should be (#17 should-fix): a FIFO at the checklist or Markdown
path is refused at once, and ``import`` names the operator's file, never a temporary one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
           "RSDEPLOY_STATE_DIR": str(tmp_path / "state"),
           "RSDEPLOY_CACHE_DIR": str(tmp_path / "cache"),
           "RSDEPLOY_CONFIG_DIR": str(tmp_path / "config")}
    # bounded: before the fix each of these waited forever for a writer to open the FIFO
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_fifo_checklist_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "checklist.yaml"
    os.mkfifo(fifo)
    result = cli(tmp_path, "validate", str(fifo))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{fifo} is not a regular file" in result.stderr


def test_the_cached_loader_refuses_a_fifo_too(tmp_path: Path) -> None:
    fifo = tmp_path / "checklist.yaml"
    os.mkfifo(fifo)
    code = ("import sys\nfrom rsdeploy_tui.checklist.cache import load_checklist_cached\n"
            "from rsdeploy_tui.errors import RsdeployError\ntry:\n"
            "    load_checklist_cached(sys.argv[1])\nexcept RsdeployError as e:\n"
            "    print(e.message)\n")
    result = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src"),
                                 "RSDEPLOY_CACHE_DIR": str(tmp_path / "cache")})
    assert f"{fifo} is not a regular file" in result.stdout, result.stderr


def test_importing_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "runbook.md"
    os.mkfifo(fifo)
    result = cli(tmp_path, "import", str(fifo))
    assert result.returncode == 1 and f"{fifo} is not a regular file" in result.stderr


def test_import_of_a_huge_file_names_the_operators_file(tmp_path: Path) -> None:
    source = tmp_path / "runbook.md"
    lines = ["# Deploy", "", "## Phase one", ""]
    lines += [f"- [ ] Check thing number {n}" for n in range(1, 33_000)]
    source.write_text("\n".join(lines) + "\n")
    assert source.stat().st_size < 2 * 1024 * 1024  # the Markdown itself is accepted
    result = cli(tmp_path, "import", str(source), "-o", str(tmp_path / "out.yaml"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{source}: the checklist YAML made from it would be" in result.stderr
    assert "rsdeploy-import" not in result.stderr and "imported.yaml" not in result.stderr
    assert not (tmp_path / "out.yaml").exists()
