"""The new-deployment modal with keys arriving in one burst (tmux send-keys, a laggy SSH link)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual import events

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session, SessionState
from rsdeploy_tui.ui.screens.modals import DeploymentInfoModal
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

SIZE = (100, 32)
Stored = Callable[[str], SessionState]


def burst(app: object, keys: list[str]) -> None:
    """Queue every key at once, as a terminal delivers a burst (pilot.press waits between keys)."""
    driver = app._driver  # type: ignore[attr-defined]
    for key in keys:
        char = key if len(key) == 1 else {"tab": "\t", "enter": "\r"}.get(key)
        driver.send_message(events.Key(key, char))


@pytest.mark.parametrize(
    "keys",
    [
        [*"v1.4.2", "tab", *"14", "enter"],
        [*"v1.4.2", "enter", *"14", "enter"],
    ],
    ids=["tab", "enter"],
)
async def test_version_and_sprint_typed_in_one_burst(
    mini: Checklist, session: Session, stored: Stored, keys: list[str]
) -> None:
    app = make_app(mini, session, ask_deployment_info=True, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DeploymentInfoModal)
        burst(app, keys)
        # Wait for the event that matters (the modal gave way to the runbook), bounded
        # generously: a loaded machine is slow, not wrong.
        deadline = time.monotonic() + 30
        while not isinstance(app.screen, RunbookScreen):
            assert time.monotonic() < deadline, f"still on {app.screen!r} after the burst"
            await pilot.pause(0.05)
    facts = stored(session.id).facts
    assert (facts["version"], facts["sprint"]) == ("v1.4.2", "14")


async def test_shift_tab_goes_back_to_the_version(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, ask_deployment_info=True, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, DeploymentInfoModal)
        burst(app, [*"v1", "tab", *"14", "shift+tab"])
        await pilot.pause(0.2)
        assert app.focused is modal.query_one("#version")
        assert modal.query_one("#version").value == "v1"
        assert modal.query_one("#sprint").value == "14"


async def test_the_modal_is_centred(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, ask_deployment_info=True, use_git=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = app.screen.query_one(".dialog")
        left = dialog.region.x
        right = SIZE[0] - dialog.region.right
        assert left > 0 and abs(left - right) <= 1
