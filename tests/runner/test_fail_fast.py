"""Fail-fast runs (#13.1): the first failing line or `;`-command ends the run, and is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsdeploy_tui.runner import start_run, wait_run
from rsdeploy_tui.runner.steps import describe_failure, split_steps


def _run(tmp_path: Path, command: str, *, run_id: str = "r", display: str | None = None,
         fail_fast: bool = True, cwd: Path | None = None):
    start_run(tmp_path / "runs", command, run_id=run_id, display=display, fail_fast=fail_fast,
              cwd=cwd or tmp_path)
    status = wait_run(tmp_path / "runs", run_id, timeout=30)
    assert not status.running, "the run did not end within 30 s"
    return status


def test_block_stops_at_its_first_failing_line(tmp_path: Path) -> None:
    status = _run(tmp_path, "ls /no/such/dir\ntouch second-line-ran")
    assert not (tmp_path / "second-line-ran").exists()
    assert status.exit_code == 2  # ls's own code, not the last line's
    assert status.failed == {"step": 1, "of": 2, "line": 1, "text": "ls /no/such/dir",
                             "exit_code": 2}
    assert describe_failure(status.failed) == "line 1 of 2 failed: ls /no/such/dir → exit 2"


def test_semicolon_commands_stop_too_and_name_the_line_as_displayed(tmp_path: Path) -> None:
    # The shell text refers to a secret; the operator's text shows it masked.
    status = _run(tmp_path, 'git -C /nonexistent-repo checkout v1.4.0 "${DB_PASSWORD}"; '
                  "touch deployed", display="git -C /nonexistent-repo checkout v1.4.0 ****; "
                  "touch deployed")
    assert not (tmp_path / "deployed").exists()
    assert status.exit_code not in (0, None)
    assert status.failed is not None
    assert status.failed["step"] == 1 and status.failed["of"] == 2
    assert status.failed["text"] == "git -C /nonexistent-repo checkout v1.4.0 ****"


def test_a_pipeline_whose_left_side_fails_fails(tmp_path: Path) -> None:
    status = _run(tmp_path, "echo start\ncat /no/such/file | sort\ntouch after-pipe")
    assert not (tmp_path / "after-pipe").exists()
    assert status.exit_code == 1
    assert status.failed is not None and status.failed["step"] == 2
    assert status.failed["text"] == "cat /no/such/file | sort"


def test_compound_commands_and_heredocs_still_run(tmp_path: Path) -> None:
    command = (
        "for n in 1 2 3; do\n"
        "  echo \"n=$n\" >> out.txt\n"
        "done\n"
        "cat >> out.txt <<'EOF'\n"
        "literal $HOME; not a command\n"
        "EOF\n"
        "if [ -s out.txt ]; then echo filled >> out.txt; fi\n"
        "x=$(printf 'a;b'); echo \"$x\" >> out.txt\n"
    )
    status = _run(tmp_path, command)
    assert status.exit_code == 0 and status.failed is None
    assert (tmp_path / "out.txt").read_text() == (
        "n=1\nn=2\nn=3\nliteral $HOME; not a command\nfilled\na;b\n")


def test_a_failure_inside_a_loop_names_the_loop(tmp_path: Path) -> None:
    status = _run(tmp_path, "echo one\nfor f in a b; do\n  test -e \"$f\"\ndone\ntouch never")
    assert not (tmp_path / "never").exists()
    assert status.failed is not None and status.failed["step"] == 2
    assert status.failed["text"] == "for f in a b; do …"


def test_continue_on_error_runs_every_line(tmp_path: Path) -> None:
    status = _run(tmp_path, "ls /no/such/dir\ntouch second-line-ran", fail_fast=False)
    assert (tmp_path / "second-line-ran").exists()
    assert status.exit_code == 0
    assert status.failed is None


def test_explicit_exit_is_kept_without_inventing_a_line(tmp_path: Path) -> None:
    status = _run(tmp_path, "x=$(false; echo tolerated)\nexit 3")
    assert status.exit_code == 3
    assert status.failed is None


@pytest.mark.parametrize(("text", "expected"), [
    ("a; b", ["a", "b"]),
    ("a && \\\n  b\nc | \n d", ["a && \\\n  b", "c | \n d"]),
    ("echo 'x;y' \"$(p; q)\" `r;s`; t # c;d", ["echo 'x;y' \"$(p; q)\" `r;s`", "t # c;d"]),
    ("case $x in a) u;; b) v;; esac; w", ["case $x in a) u;; b) v;; esac", "w"]),
    ("f() { g; h; }\nf", ["f() { g; h; }", "f"]),
    ("cat <<-E | sort\n\tk; l\n\tE\nm", ["cat <<-E | sort\n\tk; l\n\tE", "m"]),
    ("sleep 1 &\nwait 2>&1 &> /dev/null", ["sleep 1", "wait 2>&1 &> /dev/null"]),
    ("# only a comment\n\n", []),
])
def test_split_steps_is_shell_aware(text: str, expected: list[str]) -> None:
    assert [s.text for s in split_steps(text)] == expected


async def test_the_command_check_stops_at_the_first_failing_line(tmp_path: Path) -> None:
    from rsdeploy_tui.checklist.model import Check, Item
    from rsdeploy_tui.checks.registry import CheckContext, run_check

    side = tmp_path / "second-ran"
    check = Check(type="command", params={"run": f"ls /no/such/dir; touch {side}"}, line=1)
    item = Item(id="c", phase_id="p", section_id="s", text="A check", check=check)
    result = await run_check(item, CheckContext())
    assert not side.exists()
    assert result.status == "fail"
    assert result.summary.startswith("line 1 of 2 failed: ls /no/such/dir → exit 2")
    assert result.evidence["failed"]["step"] == 1


def test_an_interactive_run_stops_at_the_first_failing_line_and_keeps_its_output(
        tmp_path: Path) -> None:
    """Through a real pty, as on the operator's terminal (stdin and stdout a tty)."""
    import os
    import subprocess
    import sys

    side = tmp_path / "second-ran"
    log = tmp_path / "term.log"
    program = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from rsdeploy_tui.runner import run_in_terminal\n"
        f"r = run_in_terminal('echo before; ls /no/such/dir; touch {side}', "
        f"log_path=Path({str(log)!r}))\n"
        "print('RESULT', json.dumps([r.exit_code, r.failed]), file=sys.stderr)\n"
    )
    master, slave = os.openpty()
    done = subprocess.run([sys.executable, "-c", program], stdin=slave, stdout=slave,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    os.close(slave)
    os.close(master)
    assert done.returncode == 0, done.stderr.decode()
    line = next(x for x in done.stderr.decode().splitlines() if x.startswith("RESULT "))
    import json

    code, failed = json.loads(line[len("RESULT "):])
    assert not side.exists()
    assert code == 2
    assert failed["step"] == 2 and failed["of"] == 3 and failed["text"] == "ls /no/such/dir"
    kept = log.read_text()
    assert "before" in kept and "No such file or directory" in kept
