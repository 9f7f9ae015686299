"""The bundled Rollback phase: steps that exit 0 tick themselves (fewer keystrokes mid-incident)."""

from __future__ import annotations

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.checklist.model import ROLLBACK_PHASE


def test_every_runnable_rollback_step_but_the_interactive_one_ticks_on_exit_0() -> None:
    phase = load_checklist().phase(ROLLBACK_PHASE)
    runnable = [i for i in phase.items if i.command or i.action]
    assert len(runnable) == 9
    # An `eb ssh` session's exit status is the ssh session's: it does not prove the restore.
    assert [i.id for i in runnable if not i.tick_on_success] == ["restore-db-backup"]
    assert all(i.interactive for i in runnable if not i.tick_on_success)
