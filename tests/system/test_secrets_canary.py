"""Secrets never reach a file, a log, a report or the output: one canary run across every layer.

Plants canary values in the environment (the checklist's secrets and AWS keys) and in text an
operator types, drives the session store, a detached command, the headless checks, the report and
the listing commands the way an operator would, then searches every file written and every byte
printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.runner import start_run, wait_run
from rsdeploy_tui.session import SessionStore

REPO = Path(__file__).resolve().parents[2]

CANARIES = {
    "DB_PASSWORD": "canary-db-pw-7Hq2",
    "SECRET_KEY": "canary-django-secret-Zt81",
    "ADMIN_PASSWORD": "canary-admin-pw-Lk44",
    "AWS_SECRET_ACCESS_KEY": "canaryAwsSecretKey0123456789abcdefghijKLMN",
}
TYPED = "the password=canary-typed-pw-Qq19 was rotated"

CHECKLIST = """\
name: Canary deployment
vars:
  eb_env: canary-prod
secrets: [DB_PASSWORD, SECRET_KEY, ADMIN_PASSWORD]
phases:
  - id: pre
    title: Pre-Deployment
    sections:
      - id: env
        title: Environment
        items:
          - id: secret-key-set
            text: SECRET_KEY set
            check: {type: env_vars, names: [SECRET_KEY, DB_PASSWORD]}
          - id: echo-secrets
            text: A command that prints what it should not
            command: echo "db=${env:DB_PASSWORD} key=$SECRET_KEY"
            check: {type: command, run: 'echo "pw=$DB_PASSWORD admin=$ADMIN_PASSWORD"'}
          - id: dsn
            text: "Connect with postgres://rs:${env:DB_PASSWORD}@db/rs"
"""


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rsdeploy_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_no_canary_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RSDEPLOY_STATE_DIR", str(state))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    path = tmp_path / "canary.yaml"
    path.write_text(CHECKLIST)
    checklist = load_checklist(path)

    store = SessionStore(state / "sessions")
    session = store.create(checklist, vars={"eb_env": "canary-prod"}, operator="ana")
    session.record("note", item="pre.dsn", text=TYPED)
    session.record("skip", item="pre.dsn", reason=f"DSN has {CANARIES['DB_PASSWORD']} in it")
    run_dir = session.dir / "runs"
    handle = start_run(
        run_dir,
        'echo "db=${DB_PASSWORD} key=$SECRET_KEY"; echo ' + TYPED,
        run_id="pre.echo-secrets-1",
        secret_names=checklist.secrets,
    )
    session.record(
        "command_started",
        item="pre.echo-secrets",
        run=handle.run_id,
        command='echo "db=**** key=$SECRET_KEY"',
        pid=handle.pid,
        log=str(handle.log_path),
    )
    status = wait_run(run_dir, handle.run_id, timeout=30)
    session.record(
        "command_finished",
        item="pre.echo-secrets",
        run=handle.run_id,
        exit_code=status.exit_code,
        duration_s=0.1,
        tail=handle.log_path.read_text().splitlines()[-2:],
    )
    session_id = session.id
    session.close()

    printed = []
    for args in (
        ["check", "--checklist", str(path), "--session", session_id, "--json"],
        ["check", "--checklist", str(path)],
        ["show", session_id, "--json"],
        ["show", session_id],
        ["sessions", "--json"],
        ["report", session_id, "-o", str(tmp_path / "report.md")],
        ["report", session_id, "--format", "json"],
        ["validate", str(path), "--json"],
    ):
        result = _cli(args, env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        printed.append(result.stdout + result.stderr)
    assert "secret-key-set" in printed[0]  # the checks really ran and reported

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != path]
    assert any(p.name == "events.jsonl" for p in written)
    assert any(p.suffix == ".log" for p in written)
    assert (tmp_path / "report.md").exists()
    leaks = []
    for value in [*CANARIES.values(), "canary-typed-pw-Qq19"]:
        leaks += [str(p) for p in written if value.encode() in p.read_bytes()]
        leaks += [f"output of command {i}" for i, out in enumerate(printed) if value in out]
    assert leaks == []
