"""The run log masks a secret however the command prints it: across a pause, with an escape
sequence inside, encoded (#17.2). Real detached runs through the wrapper."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rsdeploy_tui.runner import start_run, wait_run

VALUE = "CANARYdb/pw+111="
# > IDLE_FLUSH_S (2 s): the wrapper writes what it has after that much quiet
COMMAND = (
    "printf 'a CANARYdb/'; sleep 3; printf 'pw+111= b\\n'; "
    "printf 'c CANARYdb\\033[1m/pw+111= d\\n'; "
    "printf 'e CANARYdb\\033[1m'; sleep 3; printf '/pw+111= f\\n'; "
    "printf 'g %s h\\n' \"$(printf %s \"$DB_PASSWORD\" | base64)\"; "
    "printf 'prompt> '; sleep 3; printf 'answered\\n'"
)


def test_a_secret_split_by_a_pause_or_an_escape_is_masked_in_the_run_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    handle = start_run(tmp_path / "runs", COMMAND, env={"DB_PASSWORD": VALUE}, run_id="r-1",
                       secret_names=["DB_PASSWORD"])
    status = wait_run(tmp_path / "runs", handle.run_id, timeout=60)
    assert status.exit_code == 0
    log = handle.log_path.read_bytes()
    plain = log.replace(b"\x1b[1m", b"")
    for form in (VALUE.encode(), b"CANARYdb/", b"CANARYdb\x1b[1m",
                 base64.b64encode(VALUE.encode())):
        assert form not in log and form not in plain, (form, log)
    lines = log.decode().splitlines()
    assert lines[:4] == ["a **** b", "c **** d", "e **** f", "g **** h"], lines
    # a prompt that is not the start of a secret is not held back for ever
    assert lines[4] == "prompt> answered"
