"""The parsed-checklist cache: same checklist as the loader, never stale, never in the way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import ChecklistError, load_checklist
from rsdeploy_tui.checklist.cache import cache_dir, load_checklist_cached

MINI = """\
name: Cache test
vars:
  eb_env: rs-prod
phases:
  - id: pre
    title: Pre
    sections:
      - id: main
        title: Main
        items:
          - id: one
            text: First item
            check: {type: http, url: "https://example.test/health"}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RSDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    return cache_dir()


def test_bundled_checklist_round_trips(cache: Path) -> None:
    fresh = load_checklist(None)
    first = load_checklist_cached(None)  # parses, stores
    assert list(cache.glob("*.pickle"))
    second = load_checklist_cached(None)  # from the cache
    assert first == fresh and second == fresh
    assert second.phases[0].items[0].line == fresh.phases[0].items[0].line


def test_an_edit_is_seen_at_once(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINI)
    assert load_checklist_cached(path).name == "Cache test"
    path.write_text(MINI.replace("Cache test", "Edited"))
    assert load_checklist_cached(path).name == "Edited"


def test_a_broken_file_is_never_cached(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINI.replace("text: First item", "txt: First item"))
    for _ in range(2):
        with pytest.raises(ChecklistError) as error:
            load_checklist_cached(path)
        assert "txt" in str(error.value)
    assert not list(cache.glob("*.pickle"))


def test_a_damaged_entry_is_replaced(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINI)
    load_checklist_cached(path)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert load_checklist_cached(path) == load_checklist(path)
    assert entry.read_bytes() != b"not a pickle"


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RSDEPLOY_CACHE_DIR", str(blocker / "cache"))  # under a file: mkdir fails
    path = tmp_path / "c.yaml"
    path.write_text(MINI)
    assert load_checklist_cached(path) == load_checklist(path)


def test_a_cached_launch_does_not_import_yaml(cache: Path) -> None:
    load_checklist_cached(None)
    code = (
        "import sys\n"
        "from rsdeploy_tui.checklist.cache import load_checklist_cached\n"
        "load_checklist_cached(None)\n"
        "print('yaml' in sys.modules)\n"
    )
    env = {**os.environ, "RSDEPLOY_CACHE_DIR": str(cache.parent),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
