"""An interactive run's output view says once that its output went to the terminal.

Found in an acceptance pass (`eb ssh`): the line showed twice, because the re-render after
``command_started`` had already loaded the run's view before the run itself added the line.
"""

from __future__ import annotations

import contextlib
from typing import Any

from live_helpers import SIZE, goto, kinds, runbook, wait_for

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session


async def test_interactive_run_says_once_where_its_output_went(
    live: Checklist, session: Session, services: dict[str, Any], monkeypatch: Any,
) -> None:
    app = make_app(live, session, use_git=False, services=services)

    @contextlib.contextmanager
    def suspend() -> Any:
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, "pre.terminal")
        await pilot.press("r")
        await wait_for(pilot, lambda: "command_finished" in kinds(session, "pre.terminal"))
        await pilot.pause()
        output = runbook(app).runs.output
        assert output.plain_lines() == ["(interactive: the output went to the terminal)"]
        assert "exit 7" in output.runs[output.shown].status
