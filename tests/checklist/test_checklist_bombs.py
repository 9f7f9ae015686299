"""Checklist bombs (#17.6): an alias bomb and a ``${v}${v}`` doubling chain are refused, located,
with bounded memory; circular variables are named with their file and line (#17 sentences).

The CLI runs in a subprocess under ``RLIMIT_AS`` (1 GiB), so a regression shows as a
MemoryError or a kill, never as a machine brought to its knees.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui import locations
from rsdeploy_tui.checklist.model import Checklist, Phase
from rsdeploy_tui.checklist.vars import VarError, resolve_vars

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1 << 30

ITEM = """phases:
  - id: p
    title: P
    items:
      - id: i
        text: T
"""

ALIAS_BOMB = """name: bomb
phases:
  - id: p
    title: P
    items:
      - id: i
        text: T
        check:
          type: http
          url: https://example.invalid/
          headers:
            a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
            i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def doubling_chain(levels: int = 26) -> str:
    lines = ["name: chain", "vars:", "  v0: ab"]
    lines += [f"  v{n}: ${{v{n - 1}}}${{v{n - 1}}}" for n in range(1, levels + 1)]
    return "\n".join(lines) + f"\n{ITEM.rstrip()} ${{v{levels}}}\n"


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
           "RSDEPLOY_STATE_DIR": str(tmp_path / "state"),
           "RSDEPLOY_CACHE_DIR": str(tmp_path / "cache"),
           "RSDEPLOY_CONFIG_DIR": str(tmp_path / "config")}
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=limited,
                          stdin=subprocess.DEVNULL)


def test_the_memory_limit_leaves_room_for_a_real_checklist(tmp_path: Path) -> None:
    result = cli(tmp_path, "validate", str(locations.bundled_checklist()))
    assert result.returncode == 0, result.stderr


def test_an_alias_bomb_is_refused_at_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    assert path.stat().st_size < 800
    result = cli(tmp_path, "validate", str(path))
    assert result.returncode == 1
    assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr
    assert "YAML aliases expand too far" in result.stderr
    assert f"{path}, line 19:" in result.stderr  # &h: repeated nine times by i
    assert "alias bomb" in result.stderr


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(ITEM + "        check:\n          type: http\n          params: &p {"
                    "url: x, again: *p}\n".replace("*p}", "*p }"))
    result = cli(tmp_path, "validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "used inside its own anchor" in result.stderr


def test_a_few_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text("name: shared\n" + ITEM + "        check: &web {type: http, url: "
                    "'https://example.invalid/health'}\n"
                    "      - id: j\n        text: U\n        check: *web\n")
    result = cli(tmp_path, "validate", str(path))
    assert result.returncode == 0, result.stderr


def test_a_doubling_chain_is_refused_naming_the_var_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(doubling_chain())
    assert path.stat().st_size < 700
    result = cli(tmp_path, "validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    # v15 = 65,536 characters is allowed; v16 is the first too large, on line 19
    assert f"{path}:19: vars.v16: expands to 131,072 characters" in result.stderr
    assert "more than the 65,536" in result.stderr


def test_resolving_a_doubling_chain_from_overrides_stops_at_the_cap() -> None:
    chain = {"v0": "ab", **{f"v{n}": f"${{v{n - 1}}}${{v{n - 1}}}" for n in range(1, 27)}}
    checklist = Checklist(name="T", phases=(Phase(id="p", title="P"),), vars={"v0": "ab"},
                          path=Path("/srv/night.yaml"))
    with pytest.raises(VarError) as refused:
        resolve_vars(checklist, chain, config={})
    assert refused.value.title == "Variable too large"
    assert "/srv/night.yaml: var 'v16' expands to 131,072 characters" in refused.value.message


def test_circular_vars_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cycle.yaml"
    path.write_text("name: c\nvars:\n  a: x${b}\n  b: y${c}\n  c: ${a}\n" + ITEM)
    result = cli(tmp_path, "validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{path}:3: vars.a: circular variable" in result.stderr
    assert "a -> b -> c -> a" in result.stderr


def test_circular_vars_from_overrides_name_the_checklist() -> None:
    checklist = Checklist(name="T", phases=(Phase(id="p", title="P"),),
                          vars={"a": "1", "b": "2"}, path=Path("/srv/night.yaml"))
    with pytest.raises(VarError) as refused:
        resolve_vars(checklist, {"a": "${b}", "b": "${a}"}, config={})
    assert refused.value.message.startswith("/srv/night.yaml: ")
    assert "a -> b -> a" in refused.value.message and "--set" in refused.value.message
