"""`?` lists every key (log pane and report tabs too), the palette lists each action once, and
the report tabs save into the session directory, never the operator's working tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding

from rsdeploy_tui.app import make_app
from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.session import Session
from rsdeploy_tui.ui.screens.help import KEYS
from rsdeploy_tui.ui.screens.runbook import RunbookScreen
from rsdeploy_tui.ui.widgets.communication import CommunicationPanel
from rsdeploy_tui.ui.widgets.deploy_log import DeploymentLogView
from rsdeploy_tui.ui.widgets.log_pane import LogPane

SIZE = (100, 32)
NAMES = {"space": "space", "slash": "/", "question_mark": "?", "escape": "escape", "end": "end"}


def help_keys(section: str | None = None) -> set[str]:
    """Every key named in the help, in one section (heading text start) or all."""
    keys: set[str] = set()
    current = ""
    for names, text in KEYS:
        if not names:
            current = text
            continue
        if section is None or current.startswith(section):
            for part in re.split(r"\s*(?:,| / )\s*", names):
                keys.update(part.split("/") if len(part) > 1 else [part])
    return keys


def bound_keys(bindings: list[object]) -> set[str]:
    keys: set[str] = set()
    for binding in bindings:
        assert isinstance(binding, Binding)
        for key in binding.key.split(","):
            keys.add(NAMES.get(key, key))
    return keys


@pytest.mark.parametrize(("section", "widget"), [
    ("Runbook", RunbookScreen), ("eb logs", LogPane), ("Log tab", DeploymentLogView),
    ("Messages", CommunicationPanel),
])
def test_help_names_every_key_bound_there(section: str, widget: type) -> None:
    shown = help_keys(section)
    missing = bound_keys(widget.BINDINGS) - shown - {"left", "right", "1", "2", "3", "4", "5",
                                                     "6", "7", "8", "9", "j", "k"}
    assert not missing, f"{section}: keys missing from help: {sorted(missing)}"
    assert {"left/right", "1-9", "k", "j"} & help_keys("Runbook")


async def test_palette_lists_keys_and_quit_once(mini: Checklist, session: Session) -> None:
    app = make_app(mini, session, use_git=False)
    async with app.run_test(size=SIZE):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Keys") == 1 and titles.count("Quit") == 1
        assert "Finish session" in titles and "Mark item failed" in titles


@pytest.mark.parametrize(("tab", "pattern"), [
    ("7", "deployment-log-*.md"), ("8", "*.txt"),
])
async def test_report_tabs_save_into_the_session_directory(
    mini: Checklist, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tab: str, pattern: str,
) -> None:
    """Message files (`post_deployment-<id>.txt`) went into the Django project's checkout."""
    work_tree = tmp_path / "checkout"
    work_tree.mkdir()
    monkeypatch.chdir(work_tree)
    app = make_app(mini, session, use_git=False)
    tab = {"7": "4", "8": "5"}[tab]  # the mini checklist has three phases: Log is 4, Messages 5
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(tab)
        widget = DeploymentLogView if tab == "4" else CommunicationPanel
        for _ in range(200):
            await pilot.pause(0.05)
            found = app.screen.query(widget)
            if found and getattr(found.first(), "text", "x") and (
                    widget is DeploymentLogView or found.first()._ready()):  # noqa: SLF001
                break
        await pilot.press("s")
        for _ in range(100):
            if list(session.dir.glob(pattern)):
                break
            await pilot.pause(0.05)
    assert list(session.dir.glob(pattern)), "nothing saved in the session directory"
    assert list(work_tree.iterdir()) == []
