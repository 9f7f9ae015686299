"""command, env_vars, secrets_in_repo with real processes and a real git repository."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from checkrun import item, run

from rsdeploy_tui.checks.registry import CheckContext, run_checks
from support import need_command
from support.real_parts import need_proc


async def test_command_pass_fail_and_output() -> None:
    ok = await run("command", run="echo 'Ran 12 tests'; echo OK", expect_output=r"^OK$")
    assert ok.status == "pass", ok.summary
    assert ok.evidence["tail"] == ["Ran 12 tests", "OK"]
    bad = await run("command", run="echo FAILED >&2; exit 1")
    assert bad.status == "fail"
    assert "exit 1, expected 0" in bad.summary and "FAILED" in bad.summary
    nomatch = await run("command", run="echo hello", expect_output="bye")
    assert nomatch.status == "fail" and "does not match" in nomatch.summary
    expected = await run("command", run="exit 2", expect_exit=2)
    assert expected.status == "pass"


async def test_command_runs_in_cwd_and_uses_vars(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    ctx = CheckContext(vars={"app_dir": str(tmp_path)})
    result = await run("command", ctx, run="cat marker.txt", cwd="${app_dir}",
                       expect_output="here")
    assert result.status == "pass", result.summary
    missing = await run("command", ctx, run="true", cwd=str(tmp_path / "nope"))
    assert missing.status == "error" and "working directory not found" in missing.summary


async def test_command_not_found_is_an_error() -> None:
    result = await run("command", run="definitely-not-a-command-xyz --help")
    assert result.status == "error"
    assert "command not found" in result.summary


async def test_command_output_is_capped_and_tail_kept() -> None:
    result = await run("command", run="seq 1 600000 | sed s/.*/line/; echo; echo LAST")
    assert result.status == "pass"
    assert result.evidence["tail"][-1] == "LAST"
    assert len(result.evidence["tail"]) == 20


@pytest.mark.parametrize("shell_waits", [True, False])
async def test_command_timeout_kills_the_process_group(tmp_path: Path, shell_waits: bool
                                                       ) -> None:
    pid_file = tmp_path / "pid"
    wait = "; wait" if shell_waits else ""  # without: the shell exits, its child holds the pipe
    result = await run("command", run=f"sleep 30 & echo $! > {pid_file}{wait}", timeout=0.5)
    assert result.status == "error"
    assert result.summary == f"`sleep 30 & echo $! > {pid_file}{wait}` did not finish within 0.5 s"
    pid = int(pid_file.read_text())
    # SIGKILL was sent before the check returned: wait (bounded generously) for the kernel.
    await _until(lambda: not _alive(pid), "the command's child survived the timeout")


async def _until(condition: Callable[[], bool], failure: str, bound: float = 30.0) -> None:
    """Wait for ``condition``, failing with ``failure`` after ``bound`` seconds (never a speed
    claim: the bound only keeps a broken build from hanging)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(failure)
        await asyncio.sleep(0.02)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _alive(pid: int) -> bool:
    """Running (a killed zombie waiting for init to reap it counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


async def test_command_cancel_reaps_the_process(tmp_path: Path) -> None:
    """Cancelling a running command check stops its whole process group (the shell and a
    background child) and reaps the shell: nothing of it is left running."""
    need_proc()
    shell_pid, child_pid = tmp_path / "shell.pid", tmp_path / "child.pid"
    command = f"echo $$ > {shell_pid}; sleep 300 & echo $! > {child_pid}; wait"
    task = asyncio.create_task(run_checks([item("command", run=command)], CheckContext()))
    await _until(lambda: child_pid.exists() and child_pid.read_text().strip() != "",
                 "the command never started")
    pgid = int(shell_pid.read_text())  # run_shell starts a new session: the shell leads it
    members = _group_members(pgid)
    assert pgid in members and int(child_pid.read_text()) in members
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Right after the cancel returns: the group is empty (SIGKILL, then the shell was awaited,
    # so it is not even a zombie), and the background child is gone too.
    await _until(lambda: _group_members(pgid) == [], f"process group {pgid} still has "
                 f"{_group_members(pgid)} after the cancel")
    assert not Path(f"/proc/{pgid}").exists(), "the shell was not reaped"


async def test_env_vars_presence_only() -> None:
    ctx = CheckContext(environ={"SECRET_KEY": "sk-very-secret", "EMPTY": ""})
    result = await run("env_vars", ctx, names=["SECRET_KEY", "EMPTY", "DB_HOST"])
    assert result.status == "fail"
    assert result.summary == "not set: EMPTY, DB_HOST"
    assert result.evidence == {"present": ["SECRET_KEY"], "missing": ["EMPTY", "DB_HOST"]}
    assert "sk-very-secret" not in str(result)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    need_command("git", "apt-get install git", why="the check reads a real repository")
    root = tmp_path / "app"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "settings.py").write_text(
        "import os\nSECRET_KEY = os.environ['SECRET_KEY']\nDEBUG = False\n")
    (root / "README.md").write_text("Set DB_PASSWORD in the environment.\n")
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    return root


async def test_secrets_in_repo_clean_then_dirty(repo: Path) -> None:
    clean = await run("secrets_in_repo", path=str(repo))
    assert clean.status == "pass", clean.summary
    assert clean.evidence["files_scanned"] == 2
    key_id = "AKIA" + "ABCDEFGHIJKLMNOP"
    (repo / "deploy.sh").write_text(f"export AWS_ACCESS_KEY_ID={key_id}\n")
    (repo / "local_settings.py").write_text("DB_PASSWORD = 'correct-horse-battery'\n")
    (repo / "untracked.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    subprocess.run(["git", "-C", str(repo), "add", "deploy.sh", "local_settings.py"],
                   check=True)
    dirty = await run("secrets_in_repo", path=str(repo))
    assert dirty.status == "fail"
    kinds = {(f["file"], f["kind"]) for f in dirty.evidence["findings"]}
    assert kinds == {("deploy.sh", "AWS access key id"),
                     ("local_settings.py", "hard-coded password")}
    assert key_id not in str(dirty) and "correct-horse-battery" not in str(dirty)
    excluded = await run("secrets_in_repo", path=str(repo), exclude=["deploy.sh", "local_*"])
    assert excluded.status == "pass"


async def test_secrets_in_repo_outside_git(tmp_path: Path) -> None:
    result = await run("secrets_in_repo", path=str(tmp_path))
    assert result.status == "error" and "not a git repository" in result.summary
