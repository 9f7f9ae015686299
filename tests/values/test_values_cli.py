"""``values``, ``report --set``, ``check`` and the operator on resume, as an operator runs them
(a real subprocess on a real store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.values import set_value

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "RSDEPLOY_STATE_DIR": str(tmp_path / "state"),
            "RSDEPLOY_CONFIG_DIR": str(tmp_path / "config"), "PYTHONPATH": str(REPO / "src"),
            "USER": "ana", **env}
    full.pop("SUDO_USER", None)
    return subprocess.run([sys.executable, "-m", "rsdeploy_tui", *args], env=full,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


@pytest.fixture
def sessions(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "state" / "sessions")


def test_values_json_names_where_each_value_comes_from(
        tmp_path: Path, sessions: SessionStore, bundled: Checklist) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.yaml").write_text("vars:\n  backup_prefix: from-config\n")
    created = sessions.create(
        bundled, vars=resolve_vars(bundled, {"eb_env": "rs-staging"},
                                   config={"backup_prefix": "from-config"}), operator="ana")
    created.record("fact", item="deploy.capture-version", name="previous_version", value="1")
    set_value(created, bundled, "previous_tag", "v1.4.1", via="app")
    created.record("fact", item="deploy.db-backup-now", name="backup_verified", value=True)
    created.close()

    done = cli(tmp_path, "values", "--json", DB_PASSWORD="canary-pw-5521")
    assert done.returncode == 0, done.stderr
    assert f"Latest active session: {created.id}" in done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["values"]}
    assert (rows["domain"]["value"], rows["domain"]["source"]) == (
        "rockstarwindshield.repair", "checklist")
    assert rows["base_url"]["value"] == "https://rockstarwindshield.repair"
    assert (rows["backup_prefix"]["value"], rows["backup_prefix"]["source"]) == (
        "from-config", "config")
    assert (rows["eb_env"]["value"], rows["eb_env"]["source"]) == ("rs-staging", "start")
    assert (rows["previous_version"]["value"], rows["previous_version"]["source"]) == (
        "1", "fact")
    assert "deploy.capture-version" in rows["previous_version"]["detail"]
    assert (rows["previous_tag"]["value"], rows["previous_tag"]["source"]) == ("v1.4.1", "set")
    assert "set by ana" in rows["previous_tag"]["detail"]
    assert rows["backup_verified"]["value"] == "true"
    assert (rows["session_dir"]["value"], rows["session_dir"]["source"]) == (
        str(created.dir), "session")
    secrets = {row["name"]: row for row in json.loads(done.stdout)["secrets"]}
    assert secrets["DB_PASSWORD"] == {"name": "DB_PASSWORD", "source": "environment",
                                      "set": True}
    assert "canary-pw-5521" not in done.stdout + done.stderr

    plain = cli(tmp_path, "values", created.id)
    assert plain.returncode == 0, plain.stderr
    assert "previous_tag" in plain.stdout and "set by ana" in plain.stdout


def test_report_takes_set_after_the_sub_command_and_reads_values_set_in_the_session(
        tmp_path: Path, sessions: SessionStore, bundled: Checklist) -> None:
    created = sessions.create(bundled, vars=resolve_vars(bundled, {}, config={}),
                              operator="ana")
    set_value(created, bundled, "version", "v7.7.7", via="app")
    created.close()
    done = cli(tmp_path, "report", created.id, "--set", "contact=ops@example.test")
    assert done.returncode == 0, done.stderr
    assert "v7.7.7" in done.stdout


def test_check_reads_the_sessions_values_and_refuses_a_check_whose_value_is_not_set(
        tmp_path: Path, sessions: SessionStore, bundled: Checklist) -> None:
    created = sessions.create(bundled, vars=resolve_vars(bundled, {}, config={}),
                              operator="ana")
    created.close()
    qid = "rollback.restore-previous-eb-version"
    done = cli(tmp_path, "check", "--item", qid, "--json")
    assert done.returncode == 1
    row = json.loads(done.stdout)[0]
    assert row["status"] == "error"
    assert "previous_version not set" in row["summary"] and "--set previous_version=" in \
        row["summary"]


def test_a_plain_resume_by_the_same_login_keeps_the_operator_name(
        sessions: SessionStore, bundled: Checklist, monkeypatch: pytest.MonkeyPatch) -> None:
    from rsdeploy_tui.commands.tui import remembered_operator, resume_hint

    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("USER", "root")
    created = sessions.create(bundled, vars={}, operator="deployer")
    created.close()
    assert remembered_operator(sessions, created.id, None) == "deployer"
    resumed = sessions.open(created.id, operator=remembered_operator(sessions, created.id, None))
    assert resumed.events[-1].operator == "deployer"
    assert resume_hint(resumed) == f"rsdeploy-tui resume {created.id} --operator deployer"
    resumed.close()
    assert remembered_operator(sessions, created.id, "ana") == "ana"  # --operator wins
    monkeypatch.setenv("USER", "bob")  # another login is not taken for deployer
    assert remembered_operator(sessions, created.id, None) is None


def test_resume_set_of_a_secret_is_refused_before_anything_opens(
        tmp_path: Path, sessions: SessionStore, bundled: Checklist) -> None:
    created = sessions.create(bundled, vars={}, operator="ana")
    created.close()
    done = cli(tmp_path, "resume", created.id, "--set", "DB_PASSWORD=hunter22")
    assert done.returncode == 2
    assert "DB_PASSWORD is a secret" in done.stderr and "environment" in done.stderr
    assert "hunter22" not in (created.dir / "events.jsonl").read_text()


def test_show_expands_item_texts_with_values_set_later_in_the_session(
        tmp_path: Path, sessions: SessionStore, bundled: Checklist) -> None:
    # "Landing page loads (`${base_url}`)": after `v` set the domain, show says what the app says
    created = sessions.create(bundled, vars=resolve_vars(bundled, {}, config={}),
                              operator="ana")
    set_value(created, bundled, "domain", "staging.example.test", via="app")
    created.close()
    for args in (("show", created.id), ("show", created.id, "--json")):
        done = cli(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        assert "Landing page loads (`https://staging.example.test`)" in done.stdout
        assert "https://rockstarwindshield.repair" not in done.stdout
