"""Masking is for what is shown and written, never for what runs (#17: a var masked as a secret
made a command refuse with "dsn is empty")."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.vars import resolve_vars
from rsdeploy_tui.rollback import prefill
from rsdeploy_tui.session import SessionStore

CHECKLIST = """\
name: Masked vars
vars:
  dsn: postgres://rs:dflt-pw-8e8e@127.0.0.1:5432/rs
  api_token: tok-default-4b4b
phases:
  - id: pre
    title: Pre
    items:
      - id: connect
        text: Connect
        command: 'psql "${dsn}" -c "select 1" -v token=${api_token}'
"""


@pytest.mark.parametrize("resume", [False, True])
async def test_a_var_stored_masked_runs_with_its_real_value(tmp_path: Path, resume: bool) -> None:
    path = tmp_path / "masked.yaml"
    path.write_text(CHECKLIST)
    checklist = load_checklist(path)
    store = SessionStore(tmp_path / "sessions")
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    # what the session keeps is masked...
    assert session.meta.vars == {"dsn": "postgres://rs:****@127.0.0.1:5432/rs",
                                 "api_token": "****"}
    if resume:
        session.close()
        session = store.open(session.id, operator="ana")
    app = make_app(checklist, session, values={}, use_git=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        values = app.ctx.values
        # ...what runs is not
        assert values["dsn"] == "postgres://rs:dflt-pw-8e8e@127.0.0.1:5432/rs"
        assert values["api_token"] == "tok-default-4b4b"
        step = prefill(checklist.item("pre.connect"), values, {})
        assert step.missing == [] and step.shell is not None
        assert "dflt-pw-8e8e" in step.shell
        # and the screen still masks it
        assert "dflt-pw-8e8e" not in app.ctx.display("${dsn}")
    session.close()
    journal = (session.dir / "events.jsonl").read_text()
    assert "dflt-pw-8e8e" not in journal and "tok-default-4b4b" not in journal


def test_a_value_set_recorded_masked_never_runs_as_the_mask(tmp_path: Path) -> None:
    """A token given in the session (value_set, stored masked) runs with the value given this
    run; in a later run without it, it is empty (the step refuses), never ``****``."""
    from rsdeploy_tui.values import session_values, set_value

    path = tmp_path / "masked.yaml"
    path.write_text(CHECKLIST)
    checklist = load_checklist(path)
    store = SessionStore(tmp_path / "sessions")
    session = store.create(checklist, vars=resolve_vars(checklist, {}, config={}),
                           operator="ana")
    set_value(session, checklist, "api_token", "tok-given-later-7c7c", via="test")
    assert "tok-given-later-7c7c" not in (session.dir / "events.jsonl").read_text()
    given = session_values(checklist, session, start={"api_token": "tok-given-later-7c7c"},
                           config={})
    assert given.values["api_token"] == "tok-given-later-7c7c"
    later = session_values(checklist, session, config={})
    assert later.values["api_token"] == ""
    session.close()
