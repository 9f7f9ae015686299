"""End to end in tmux: the bundled checklist's `eb` items run the real EB CLI (awsebcli).

The items are taken verbatim (id, text, command, confirm) from checklists/rs-systems.yaml; the
app runs them with the real ``eb`` first on PATH in an ``eb init``-ed app_dir, Elastic Beanstalk
served by EbApiStub. What the test checks comes from the stub's state, the run logs and the
stored session, and, for a failed deploy, the app's explanation on screen (text that is in no
command).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.tmux_screen import REPO, TmuxScreen, app_env, cli, need_tmux
from support.real_eb import ENVIRONMENT, EbProject

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BUNDLED = REPO / "checklists" / "rs-systems.yaml"
ITEMS = ("deploy.app-status", "rollback.restore-previous-eb-version")


def bundled_items(qids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The bundled checklist's items with these ids: what the operator runs, as written."""
    doc = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = {}
    for phase in doc["phases"]:
        for section in phase.get("sections", []):
            for item in section.get("items", []):
                qid = f"{phase['id']}.{item['id']}"
                if qid in qids:
                    found[qid] = {k: item[k] for k in ("id", "text", "command", "confirm")
                                  if k in item}
    assert set(found) == set(qids), f"bundled checklist lacks {set(qids) - set(found)}"
    return [found[q] for q in qids]


def eb_checklist(path: Path) -> Path:
    """A one-phase checklist of the bundled `eb` items (their vars set on the command line)."""
    doc = {"name": "Bundled eb items", "vars": {"eb_env": "x", "previous_version": ""},
           "phases": [{"id": "eb", "title": "EB", "sections": [
               {"id": "cli", "title": "EB CLI", "items": bundled_items(ITEMS)}]}]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def screen() -> Iterator[TmuxScreen]:
    need_tmux()
    term = TmuxScreen(110, 34)
    yield term
    assert term.close() == [], "the app outlived its terminal (killed now)"


def item_runs(session_id: str, env: dict[str, str], qid: str) -> list[dict[str, Any]]:
    shown = cli("show", session_id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    row = next(r for r in json.loads(shown.stdout)["items"] if r["id"] == qid)
    return row["runs"]  # type: ignore[no-any-return]


def wait_finished(session_id: str, env: dict[str, str], qid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while True:
        runs = item_runs(session_id, env, qid)
        if runs and runs[-1]["finished"]:
            return runs[-1]
        assert time.monotonic() < deadline, f"the run of {qid} never finished"
        time.sleep(0.2)


def run_log(env: dict[str, str], session_id: str, run: dict[str, Any]) -> str:
    path = Path(env["RSDEPLOY_STATE_DIR"]) / "sessions" / session_id / "runs" / f"{run['run']}.log"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_bundled_eb_items_run_the_real_cli(
    screen: TmuxScreen, eb_project: EbProject, tmp_path: Path, outcome: str
) -> None:
    stub_env = eb_project.environment
    stub_env.update_polls, stub_env.update_outcome = 3, outcome
    env = {
        **app_env(tmp_path / "state", tmp_path / "config"),
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": os.environ["HOME"],
        "PATH": eb_project.env()["PATH"],
    }
    checklist = eb_checklist(tmp_path / "eb-items.yaml")
    screen.start([sys.executable, "-m", "rsdeploy_tui", "--checklist", str(checklist),
                  "--operator", "ana", "--set", f"eb_env={ENVIRONMENT}",
                  "--set", "previous_version=app-v40", "--set", f"app_dir={eb_project.root}"], env)
    screen.wait_for(lambda t: "New deployment" in t, what="the version/sprint question")
    screen.keys("Escape")
    screen.wait_for(lambda t: "Verify application status" in t and "New deployment" not in t,
                    what="the runbook")
    session_id = json.loads(cli("sessions", "--json", env=env).stdout)[0]["id"]

    # `eb health rs-systems-prod`: the real CLI draws the enhanced-health tables once.
    screen.keys("r")
    health = wait_finished(session_id, env, "eb.app-status")
    assert health["exit_code"] == 0, run_log(env, session_id, health)
    first = stub_env.instances[0].instance_id
    assert any(line.split()[:2] == [first, "Ok"]
               for line in run_log(env, session_id, health).splitlines())
    assert eb_project.stub.calls_to("DescribeInstancesHealth")

    # `eb deploy rs-systems-prod --version app-v40`, after typing the environment's name.
    screen.keys("Down")
    screen.wait_for(lambda t: "--version app-v40" in t, what="the rollback item's command")
    screen.keys("r")
    # The typed-confirmation modal's own line: typing before it is up would hit runbook keys.
    screen.wait_for(lambda t: f"Type {ENVIRONMENT} to confirm:" in t, what="the confirmation")
    screen.tmux("send-keys", "-t", screen.session, "-l", ENVIRONMENT)
    screen.keys("Enter")
    deploy = wait_finished(session_id, env, "eb.restore-previous-eb-version")
    [update] = eb_project.stub.calls_to("UpdateEnvironment")
    assert update.params["VersionLabel"] == "app-v40"
    log = run_log(env, session_id, deploy)
    if outcome == "success":
        assert deploy["exit_code"] == 0, log
        assert "Environment update completed successfully." in log
        assert stub_env.version_label == "app-v40"
    else:
        # The real CLI exits 4; the app asks EB what happened and says it on screen.
        assert deploy["exit_code"] == 4, log
        assert "Failed to deploy application." in log
        screen.wait_for(lambda t: "VersionLabel is app-v41, not app-v40" in t,
                        what="the app's explanation of the failed deploy")
        assert stub_env.version_label == "app-v41"
    screen.keys("q")
