"""The one resolver (#14): the order of sources, latest-wins between values set and facts, the
session_dir built-in, missing values, references that follow a later change."""

from __future__ import annotations

from pathlib import Path

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.vars import ValueChange, resolve_vars, resolve_values
from rsdeploy_tui.rollback import prefill
from rsdeploy_tui.session import SessionStore
from rsdeploy_tui.values import session_values, set_value

SMALL = """\
name: Small
vars:
  domain: example.test
  base_url: https://${domain}
  eb_env: prod
  previous_version: ""
phases:
  - id: deploy
    title: Deploy
    items:
      - id: dump
        text: Keep the data
        command: echo saved > ${session_dir}/data.json
      - id: back
        text: Go back
        command: eb deploy ${eb_env} --version ${previous_version}
"""


def small(tmp_path: Path) -> Checklist:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return load_checklist(path)


def test_the_order_of_sources_and_the_latest_of_set_and_fact_wins(tmp_path: Path) -> None:
    checklist = small(tmp_path)
    config = {"domain": "cfg.test"}
    recorded = resolve_vars(checklist, {"eb_env": "staging"}, config=config)
    res = resolve_values(
        checklist, recorded=recorded, config=config,
        changes=[ValueChange("previous_version", "1", "fact", "ana", "2026-12-03T01:00:00Z"),
                 ValueChange("previous_version", "2", "set", "bo", "2026-12-03T01:05:00Z"),
                 ValueChange("previous_version", "", "fact", "ana", "2026-12-03T01:06:00Z")],
        builtins={"session_dir": "/s"})
    # config over the default
    assert res.values["base_url"] == "https://cfg.test"
    assert res.sources["domain"].source == "config" and res.sources["base_url"].source == \
        "checklist"
    assert (res.values["eb_env"], res.sources["eb_env"].source) == ("staging", "start")
    # the operator's later correction wins over the earlier fact; an empty fact blanks nothing
    assert (res.values["previous_version"], res.sources["previous_version"].source) == ("2", "set")
    assert "set by bo (was '1')" in res.sources["previous_version"].detail
    assert res.sources["session_dir"].source == "session"
    # a default that refers to another var follows a later change of it
    later = resolve_values(checklist, recorded=recorded, config=config,
                           changes=[ValueChange("domain", "new.test", "set")])
    assert later.values["base_url"] == "https://new.test"


def test_session_dir_is_built_in_and_a_missing_value_is_named(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RSDEPLOY_CONFIG_DIR", str(tmp_path / "config"))
    checklist = small(tmp_path)  # loads: ${session_dir} needs no definition
    session = SessionStore(tmp_path / "sessions").create(
        checklist, vars=resolve_vars(checklist, {}, config={}), operator="ana")
    values = session_values(checklist, session).values
    step = prefill(checklist.item("deploy.dump"), values, {}, ())
    assert step.shell == f"echo saved > {session.dir}/data.json"
    back = prefill(checklist.item("deploy.back"), values, {}, ())
    assert back.shell is None and "\u2039previous_version: not set\u203a" in (back.command or "")
    set_value(session, checklist, "previous_version", "app-7", via="app")
    values = session_values(checklist, session).values
    assert prefill(checklist.item("deploy.back"), values, {}, ()).shell == \
        "eb deploy prod --version app-7"
    session.close()
