"""``rsdeploy-tui check`` end to end, in a subprocess, against the local web servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from web_servers import WebServers

REPO = Path(__file__).resolve().parents[2]

CHECKLIST = """\
name: Checks CLI test
vars:
  base_url: https://example.invalid
  http_url: http://example.invalid
  tls_ca_file: ""
secrets: [DB_PASSWORD]
phases:
  - id: pre
    title: Pre
    sections:
      - id: s
        title: S
        items:
          - id: perf-baseline
            text: Baseline load time
            check: {type: response_time, url: "${base_url}/"}
          - id: manual
            text: A human judgement
  - id: post
    title: Post
    sections:
      - id: web
        title: Web
        items:
          - id: health
            text: Health endpoint
            check: {type: http, url: "${base_url}/health", expect_json: {status: healthy}}
          - id: redirect
            text: HTTP redirects to HTTPS
            check: {type: https_redirect, url: "${http_url}/to-https"}
          - id: tls
            text: Certificate valid
            check: {type: tls_cert, min_days: 14}
          - id: headers
            text: Security headers
            check: {type: security_headers, url: "${base_url}/"}
          - id: perf
            text: No slower than before
            check: {type: response_time, url: "${base_url}/", baseline: perf-baseline, factor: 50}
      - id: broken
        title: Broken
        items:
          - id: weak-headers
            text: Weak headers page
            check: {type: security_headers, url: "${base_url}/weak"}
          - id: secret-echo
            text: A command that prints a secret
            check: {type: command, run: "echo password is $DB_PASSWORD; exit 3"}
"""


@pytest.fixture
def checklist(tmp_path: Path) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(CHECKLIST)
    return path


def rsdeploy(*args: str, state: Path, extra_env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RSDEPLOY_STATE_DIR": str(state),
           **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def web_vars(web: WebServers) -> list[str]:
    return ["--set", f"base_url={web.https.url}", "--set", f"http_url={web.http.url}",
            "--set", f"tls_ca_file={web.ca_file}"]


def test_passing_phase_exits_0_with_a_table(web: WebServers, checklist: Path,
                                            tmp_path: Path) -> None:
    done = rsdeploy("check", "--checklist", str(checklist), "--item", "health", "--item",
                    "redirect", "--item", "tls", "--item", "headers", *web_vars(web),
                    state=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("PASS") and "post.health" in line for line in lines)
    assert any("post.tls" in line and "days left" in line for line in lines)
    assert "4 checks: 4 passed, 0 failed, 0 errors, 0 skipped" in done.stdout
    assert "\r" not in done.stderr  # no progress line when stderr is not a terminal


def test_json_output_and_exit_1_on_failure(web: WebServers, checklist: Path,
                                           tmp_path: Path) -> None:
    done = rsdeploy("check", "--checklist", str(checklist), "--phase", "post", "--json",
                    *web_vars(web), state=tmp_path,
                    extra_env={"DB_PASSWORD": "hunter2-very-secret"})
    assert done.returncode == 1, done.stderr
    rows = {row["item"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {"post.health", "post.redirect", "post.tls", "post.headers",
                         "post.perf", "post.weak-headers", "post.secret-echo"}
    assert set(rows["post.health"]) == {"item", "type", "status", "summary", "duration_s",
                                        "evidence"}
    assert rows["post.health"]["evidence"]["status"] == 200
    assert rows["post.weak-headers"]["status"] == "fail"
    assert rows["post.perf"]["status"] == "skipped"  # no baseline in this run or a session
    echo = rows["post.secret-echo"]
    assert echo["status"] == "fail" and echo["evidence"]["exit_code"] == 3
    assert "hunter2-very-secret" not in done.stdout


def test_unreachable_site_is_an_error_not_a_traceback(checklist: Path, tmp_path: Path,
                                                      web: WebServers) -> None:
    done = rsdeploy("check", "--checklist", str(checklist), "--item", "health", "--set",
                    f"base_url=https://127.0.0.1:{web.refused_port}", state=tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("ERROR")
    assert "connection refused" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_usage_and_checklist_errors_exit_2(checklist: Path, tmp_path: Path) -> None:
    unknown = rsdeploy("check", "--checklist", str(checklist), "--item", "nope", state=tmp_path)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    manual = rsdeploy("check", "--checklist", str(checklist), "--item", "manual",
                      state=tmp_path)
    assert manual.returncode == 2 and "no automated check" in manual.stderr
    phase = rsdeploy("check", "--checklist", str(checklist), "--phase", "later", state=tmp_path)
    assert phase.returncode == 2 and "later" in phase.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(CHECKLIST.replace("expect_json:", "expect_jsn:"))
    broken = rsdeploy("check", "--checklist", str(bad), state=tmp_path)
    assert broken.returncode == 2 and "expect_jsn" in broken.stderr
    session = rsdeploy("check", "--checklist", str(checklist), "--session", "no-such",
                       state=tmp_path)
    assert session.returncode == 2
    zero = rsdeploy("check", "--checklist", str(checklist), "--concurrency", "0",
                    state=tmp_path)
    assert zero.returncode == 2 and "--concurrency" in zero.stderr


def test_session_records_results_and_baselines(web: WebServers, checklist: Path,
                                               tmp_path: Path) -> None:
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionStore

    store = SessionStore(root=tmp_path / "sessions")
    session = store.create(load_checklist(checklist), vars={}, operator="ana")
    session_id = session.id
    session.close()
    state = tmp_path
    first = rsdeploy("check", "--checklist", str(checklist), "--item", "perf-baseline",
                     "--session", session_id, *web_vars(web), state=state)
    assert first.returncode == 0, first.stdout + first.stderr
    second = rsdeploy("check", "--checklist", str(checklist), "--item", "perf", "--item",
                      "secret-echo", "--session", session_id, "--json", *web_vars(web),
                      state=state, extra_env={"DB_PASSWORD": "hunter2-very-secret"})
    rows = {row["item"]: row for row in json.loads(second.stdout)}
    assert rows["post.perf"]["status"] == "pass", rows["post.perf"]["summary"]
    assert rows["post.perf"]["evidence"]["baseline"] == "perf-baseline"

    reopened = store.open(session_id, read_only=True)
    items = reopened.state(load_checklist(checklist)).items
    assert items["pre.perf-baseline"].check.status == "pass"
    assert items["post.perf"].check.evidence["baseline_times"]
    assert items["post.secret-echo"].check.status == "fail"
    journal = "".join(p.read_text() for p in reopened.dir.iterdir() if p.is_file())
    assert "hunter2-very-secret" not in journal


def test_progress_line_on_a_terminal(web: WebServers, checklist: Path, tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RSDEPLOY_STATE_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "rsdeploy_tui", "check", "--checklist", str(checklist),
         "--item", "health", *web_vars(web)],
        stdout=subprocess.PIPE, stderr=follower, env=env, text=True)
    os.close(follower)
    out, _ = process.communicate(timeout=60)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data.decode())
    os.close(leader)
    assert process.returncode == 0
    assert "[1/1]" in "".join(chunks)
    assert "PASS" in out



BUNDLED_WEB_ITEMS = [
    "pre.ssl-certificate-active", "pre.https-redirect-configured", "pre.security-headers-enabled",
    "pre.xss-protection", "deploy.wait-health", "post.health-check", "post.health-response",
    "post.landing-page", "post.customer-login", "post.technician-login", "post.admin-login",
    "post.https-enforced", "post.ssl-certificate-valid", "post.security-headers",
    "post.csrf-protection", "post.session-cookies-secure", "post.page-load-times",
    "post.api-response-times", "rollback.verify-rollback",
]


def test_bundled_checklist_web_checks_follow_three_vars(web: WebServers, tmp_path: Path) -> None:
    """Overriding base_url, http_url and tls_ca_file points every web check at another site."""
    items = [arg for qid in BUNDLED_WEB_ITEMS for arg in ("--item", qid)]
    done = rsdeploy("check", *items, "--json", *web_vars(web), state=tmp_path)
    rows = {row["item"]: row for row in json.loads(done.stdout)}
    assert set(rows) == set(BUNDLED_WEB_ITEMS)
    failing = {qid: row["summary"] for qid, row in rows.items() if row["status"] != "pass"}
    assert failing == {}
    assert done.returncode == 0
    assert rows["post.admin-login"]["evidence"]["url"].endswith("/admin/login/?next=/admin/")
    assert rows["post.ssl-certificate-valid"]["evidence"]["port"] == web.https.port


def test_bundled_checklist_checks_every_machine_verifiable_item(tmp_path: Path) -> None:
    from rsdeploy_tui.checklist import load_checklist

    checklist = load_checklist(None)
    checked = [item for item in checklist.items if item.check is not None]
    assert len(checked) >= 40
    for item in checked:
        for value in map(str, item.check.params.values()):
            assert "rockstarwindshield" not in value and "rs-systems" not in value, item.qid


def test_session_gets_the_migration_plan_fact(django_destructive_project: Any,
                                              tmp_path: Path) -> None:
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionStore
    from support.django_real import DESTRUCTIVE_MIGRATION

    project = django_destructive_project
    store = SessionStore(root=tmp_path / "sessions")
    checklist = load_checklist(None)
    session = store.create(checklist, vars={}, operator="ana")
    session_id = session.id
    session.close()
    done = rsdeploy("check", "--item", "pre.no-destructive-migrations", "--session", session_id,
                    "--set", f"manage={project.manage}", "--set", f"app_dir={project.path}",
                    state=tmp_path, extra_env=project.env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"1 destructive: {DESTRUCTIVE_MIGRATION}: Remove field is_manager from technician"
            in done.stdout)
    # The evidence under the failing row reads as text, not as Python reprs.
    assert (f"         - migration: {DESTRUCTIVE_MIGRATION}; operation: Remove field is_manager "
            "from technician; destructive: yes") in done.stdout
    assert "{'migration'" not in done.stdout
    state = store.open(session_id, read_only=True).state(checklist)
    assert DESTRUCTIVE_MIGRATION in state.facts["migration_plan"]
    assert state.items["pre.no-destructive-migrations"].check.status == "fail"


def test_headless_check_of_a_project_without_tests(make_django_project: Any,
                                                   tmp_path: Path) -> None:
    project = make_django_project(tests="none", migrated="none")
    done = rsdeploy("check", "--item", "pre.unit-tests", "--set", f"manage={project.manage}",
                    "--set", f"app_dir={project.path}", state=tmp_path, extra_env=project.env)
    assert done.returncode == 1, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if "pre.unit-tests" in line)
    assert row.startswith("FAIL") and "no tests ran" in row
    assert "       tests_ran: 0" in done.stdout.splitlines()
    assert project.secret_key not in done.stdout


def test_session_checks_its_own_checklist_never_another(web: WebServers, checklist: Path,
                                                        tmp_path: Path) -> None:
    """Without --checklist, --session checks the session's file, not the bundled one."""
    from rsdeploy_tui import locations
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionStore

    store = SessionStore(root=tmp_path / "sessions")
    session = store.create(load_checklist(checklist), vars={}, operator="ana")
    session_id = session.id
    session.close()
    own = rsdeploy("check", "--session", session_id, "--item", "health", "--json",
                   *web_vars(web), state=tmp_path)
    assert own.returncode == 0, own.stdout + own.stderr
    assert [row["item"] for row in json.loads(own.stdout)] == ["post.health"]

    other = rsdeploy("check", "--checklist", str(locations.bundled_checklist()), "--session",
                     session_id, "--phase", "post", *web_vars(web), state=tmp_path)
    assert other.returncode == 2, other.stdout + other.stderr
    assert "does not match the session" in other.stderr and "Traceback" not in other.stderr
    recorded = store.open(session_id, read_only=True).events
    checked = {e.item for e in recorded if e.kind == "check_result"}
    assert checked == {"post.health"}  # nothing from the bundled checklist leaked in

    checklist.unlink()
    gone = rsdeploy("check", "--session", session_id, state=tmp_path)
    assert gone.returncode == 2 and "--checklist" in gone.stderr, gone.stderr


def test_a_typo_in_set_is_refused_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(CHECKLIST)
    done = rsdeploy("check", "--checklist", str(path), "--set", "bse_url=https://staging.invalid",
                    state=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "did you mean 'base_url'" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_session_checks_run_with_the_vars_the_session_started_with(
        web: WebServers, checklist: Path, tmp_path: Path) -> None:
    """A session started with --set base_url=<staging> is checked there, not at the default."""
    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionStore

    store = SessionStore(root=tmp_path / "sessions")
    session = store.create(load_checklist(checklist), operator="ana",
                           vars={"base_url": web.https.url, "http_url": web.http.url,
                                 "tls_ca_file": str(web.ca_file)})
    session_id = session.id
    session.close()
    done = rsdeploy("check", "--session", session_id, "--item", "health", "--json",
                    state=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert web.https.url in json.loads(done.stdout)[0]["summary"]
    moved = rsdeploy("check", "--session", session_id, "--item", "health", "--json",
                     "--set", "base_url=https://127.0.0.1:9", state=tmp_path)
    assert "127.0.0.1:9" in json.loads(moved.stdout)[0]["summary"]  # this run's --set wins
