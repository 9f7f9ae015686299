"""Changes deployed: git log between the previous tag and this one, else the operator's list."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from reports_factory import CANARY, START, FixedClock, frozen, make_store, session_vars

from rsdeploy_tui.reports import build_log, build_messages, render_report
from rsdeploy_tui.reports.changes import git_changes
from support import need_command


@pytest.fixture(autouse=True)
def _git_installed() -> None:
    need_command("git", "apt-get install git", why="the changes come from a real repository")


CLOCK = FixedClock(START)


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_AUTHOR_DATE": "2026-11-01T10:00:00Z", "GIT_COMMITTER_DATE": "2026-11-01T10:00:00Z",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for message in ("Initial import", "Release 1.3.2"):
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    _git(repo, "tag", "v1.3.2")
    for message in ("Managers can assign REQUESTED repairs",
                    f"Rotate credentials (old DB_PASSWORD={CANARY})",
                    "Assignment notifications include repair links"):
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    _git(repo, "tag", "v1.4.0")
    return repo


def test_changes_come_from_git_log_between_tags(repo: Path, tmp_path: Path) -> None:
    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    with store.create(checklist, vars=session_vars(checklist, repo), operator="ana") as session:
        session.record("fact", name="previous_version", value="v1.3.2")
        session.record("fact", name="changes", value=["typed by hand"])
        log = build_log(checklist, session, clock=CLOCK)
        md = render_report(checklist, session, "md", clock=CLOCK)
        messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK)}
    assert log["changes"]["source"] == "git"
    subjects = [line.split(" ", 1)[1] for line in log["changes"]["items"]]
    assert subjects[0] == "Assignment notifications include repair links"
    assert subjects[1].startswith("Rotate credentials (old DB_PASSWORD=****")
    assert subjects[2] == "Managers can assign REQUESTED repairs"
    assert len(subjects) == 3
    assert "typed by hand" not in md
    assert "_From `git log v1.3.2..v1.4.0`._" in md
    assert CANARY not in md
    # stakeholders read the subjects without the hashes
    assert "- Managers can assign REQUESTED repairs" in messages["post_deployment"].body


def test_unknown_tag_falls_back_to_the_operator_list(repo: Path, tmp_path: Path) -> None:
    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    with store.create(checklist, vars=session_vars(checklist, repo, version="v9.9.9"),
                      operator="ana") as session:
        session.record("fact", name="previous_version", value="v1.3.2")
        session.record("fact", name="changes", value="Fix one\nFix two\n")
        log = build_log(checklist, session, clock=CLOCK)
    assert log["changes"]["source"] == "operator"
    assert log["changes"]["items"] == ["Fix one", "Fix two"]
    assert "v9.9.9" in log["changes"]["detail"]


def test_git_changes_outside_a_repository_says_why(tmp_path: Path) -> None:
    lines, why = git_changes(tmp_path, "v1", "v2")
    assert lines is None
    assert "not a git repository" in why.lower()
    lines, why = git_changes(tmp_path / "missing", "v1", "v2")
    assert lines is None and "not a directory" in why


def test_previous_tag_var_wins_over_an_eb_version_label(repo: Path, tmp_path: Path) -> None:
    """capture_version records the EB label (not a git ref); the previous_tag var is the tag."""
    checklist = frozen()
    store, _ = make_store(tmp_path / "sessions")
    values = session_vars(checklist, repo, previous_tag="v1.3.2")
    with store.create(checklist, vars=values, operator="ana") as session:
        session.record("fact", name="previous_version", value="app-251119_221503")
        log = build_log(checklist, session, clock=CLOCK)
        md = render_report(checklist, session, "md", clock=CLOCK)
    assert log["changes"]["source"] == "git" and log["changes"]["since"] == "v1.3.2"
    assert len(log["changes"]["items"]) == 3
    assert "**Version**: v1.4.0 (previous: app-251119_221503)" in md
    assert "_From `git log v1.3.2..v1.4.0`._" in md
