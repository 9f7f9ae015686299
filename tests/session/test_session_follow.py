"""``Session.read_changes``: a read-only session follows its journal cheaply (#18)."""

from __future__ import annotations

from pathlib import Path

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.session import SessionStore

MINI = Path(__file__).resolve().parents[1] / "ui" / "mini.yaml"


def test_unchanged_journal_is_not_read_again(tmp_path: Path) -> None:
    checklist: Checklist = load_checklist(MINI)
    store = SessionStore(tmp_path / "sessions")
    driver = store.create(checklist, operator="ana")
    viewer = store.open(driver.id, read_only=True)
    first = viewer.read_changes()
    assert first.events is not None  # never looked before: read once
    assert viewer.apply_changes(first) == []
    again = viewer.read_changes()
    assert again.events is None and again.holder is not None  # a stat only; holder re-read
    driver.record("tick", "pre.db-backup")
    changed = viewer.read_changes()
    assert changed.events is not None
    assert [e.kind for e in viewer.apply_changes(changed)] == ["tick"]
    assert viewer.state(checklist).items["pre.db-backup"].state == "done"
    driver.close()
    gone = viewer.read_changes()
    assert gone.events is None
    viewer.apply_changes(gone)
    assert viewer.holder is None
