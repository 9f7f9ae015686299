"""A phase's short tab title (`tab:`): loaded, validated with a located message, shown."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import ChecklistError, load_checklist

PHASE = """\
name: x
phases:
  - id: post
    title: Post-Deployment Verification
{tab}    items:
      - {{id: a, text: t}}
"""


def write(tmp_path: Path, tab: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(PHASE.format(tab=tab)))
    return path


def test_a_short_tab_title_is_read_and_the_title_kept(tmp_path: Path) -> None:
    phase = load_checklist(write(tmp_path, "    tab: Verify\n")).phases[0]
    assert (phase.tab, phase.tab_title, phase.title) == (
        "Verify", "Verify", "Post-Deployment Verification")


def test_without_one_the_tab_shows_the_title(tmp_path: Path) -> None:
    phase = load_checklist(write(tmp_path, "")).phases[0]
    assert phase.tab_title == "Post-Deployment Verification"


@pytest.mark.parametrize(("tab", "expected"), [
    ('    tab: ""\n', "is empty"),
    ("    tab: A very long tab title\n", "at most 14"),
    ("    tab: [a]\n", "expected text"),
])
def test_a_bad_tab_title_is_a_located_problem(tmp_path: Path, tab: str, expected: str) -> None:
    with pytest.raises(ChecklistError) as info:
        load_checklist(write(tmp_path, tab))
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (5, "phases[post].tab")
    assert expected in problem.message


def test_every_bundled_phase_has_a_short_tab_title() -> None:
    phases = load_checklist().phases
    assert all(phase.tab for phase in phases)
    assert [p.tab for p in phases] == ["Pre", "Deploy", "Verify", "Rollback", "Review", "Comms"]
