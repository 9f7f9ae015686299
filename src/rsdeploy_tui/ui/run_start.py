"""Starting a run: the runbook's ``r`` up to the detached process (``ui/runs.py`` follows it).

A mixin of ``RunController``, kept apart so each file stays small: values missing refuse the run
and say which; a forward migrate that loses data asks first (``ui/migration_gate.py``); the
item's ``confirm:`` is typed (``confirmation`` recorded) before anything starts; then the command
goes to a terminal (interactive) or starts detached in a thread worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.ui import run_notes

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist, Item
    from rsdeploy_tui.session import Session
    from rsdeploy_tui.session.state import RunRecord
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen
    from rsdeploy_tui.ui.widgets.run_output import RunOutput


class RunStart:
    """``r``: from the key to a started run (see ``RunController``)."""

    if TYPE_CHECKING:  # set or defined by RunController
        screen: RunbookScreen
        session: Session
        checklist: Checklist
        output: RunOutput
        _missing: dict[str, list[str]]

        @property
        def values(self) -> dict[str, str]: ...
        @property
        def run_dir(self) -> Path: ...
        def open_run(self, qid: str) -> RunRecord | None: ...
        def _title(self, qid: str, command: str) -> str: ...
        def _failed_to_start(self, item: Item, error: Exception) -> None: ...
        def _started(self, item: Item, handle: Any, display: str, typed: str | None) -> None: ...

    def run(self, item: Item) -> None:
        """Run the item's command or action (asking for the typed confirmation first)."""
        from rsdeploy_tui.checklist.vars import expand
        from rsdeploy_tui.rollback import prefill
        from rsdeploy_tui.runner import needs_terminal

        if self.session.read_only:
            self.screen.notify("Read-only: nothing can be run here.", severity="warning")
            return
        if self.open_run(item.qid) is not None:
            self.screen.notify("It is already running; x cancels it.", severity="warning")
            return
        values = self.values
        secrets = self.checklist.secrets
        shell: str | None = None
        if item.action is not None:
            # The text the detail panel shows and command_started records.
            shown, lacking = self.screen.ctx.command_shown(item, self.screen.state.facts)
            if lacking:
                from rsdeploy_tui.rollback import missing_hint

                self._refuse_missing(item, shown or "", [missing_hint(n) for n in lacking])
                return
            self._missing.pop(item.qid, None)
            display = shown or f"action {item.action.type}"
            confirm = expand(item.confirm, values, secrets=secrets) if item.confirm else None
            interactive = False
        elif item.command:
            step = prefill(item, values, self.screen.state.facts, secrets)
            if step.missing or step.shell is None:
                self._refuse_missing(item, step.command or item.command, step.missing)
                return
            self._missing.pop(item.qid, None)
            shell, display, confirm = step.shell, step.command or step.shell, step.confirm
            interactive = item.interactive or needs_terminal(shell)
        else:
            return

        def go(typed: str | None) -> None:
            self.screen.enter_phase(self.checklist.phase_of(item))  # resume lands here
            if interactive and shell is not None:
                run_notes.run_interactive(self, item, shell, display, typed)
            else:
                self._launch(item, shell, display, typed)

        def confirmed_then_go() -> None:
            if not confirm:
                go(None)
                return

            def answered(typed: str | None) -> None:
                if typed is None:
                    self.screen.notify("Not run: the confirmation was cancelled.")
                    return
                if self.screen.record("confirmation", item=item.qid, text=typed,
                                      command=display):
                    go(typed)

            from rsdeploy_tui.acts_on import acts_on

            named = acts_on(item, self.screen.state.facts, values, command=display)
            body = f"{self.screen.ctx.display(item.text)}\n\n$ {display}" + "".join(
                f"\n{line}" for line in named)
            from rsdeploy_tui.ui.screens.typed_confirm import TypedConfirmModal
            self.screen.app.push_screen(
                TypedConfirmModal("Confirm a destructive step", body, confirm), answered)

        # A forward migrate asks first when the session's plan loses data (ui/migration_gate.py).
        from rsdeploy_tui.ui import migration_gate
        gate = (migration_gate.migration_gate(self.checklist, self.screen.state)
                if shell is not None and migration_gate.runs_forward_migrate(shell) else None)
        if gate is not None:
            migration_gate.ask(self.screen, item.qid, gate, display, confirmed_then_go)
            return
        confirmed_then_go()

    def _refuse_missing(self, item: Item, command: str, missing: list[str]) -> None:
        key = f"missing-{item.qid}"
        self._missing[item.qid] = missing
        self.output.open_run(key, self._title(item.qid, command), status="not run",
                             state="failed")
        self.output.feed(key, ["Not run: the command needs values this session does not have:",
                               *(f"  - {line}" for line in missing)])
        self.output.show(key)
        self.screen.notify("Not run: " + "; ".join(missing), title="Missing values",
                           severity="error", timeout=15)

    def _launch(self, item: Item, shell: str | None, display: str, typed: str | None) -> None:
        """Start detached in a thread (``start_run`` blocks ~50 ms), then follow on the UI."""

        def job() -> None:
            from rsdeploy_tui.actions import prepare_action
            from rsdeploy_tui.runner import new_run_id, start_run

            try:
                share = self._share()
                if item.action is not None:
                    prepared = prepare_action(item, self.session, self.screen.ctx.values,
                                              facts=self.screen.state.facts,
                                              run_dir=self.run_dir,
                                              secrets=self.checklist.secrets, resolved=True)
                    handle = start_run(prepared.run_dir, prepared.command, env=prepared.env,
                                       run_id=prepared.run_id, display=prepared.display,
                                       secret_names=self.checklist.secrets,
                                       mask_values=self.session.redactor.added_values(),
                                       share=share)
                    shown = prepared.display
                else:
                    assert shell is not None
                    handle = start_run(self.run_dir, shell, cwd=self._cwd(),
                                       run_id=new_run_id(item.qid), display=display,
                                       secret_names=self.checklist.secrets,
                                       mask_values=self.session.redactor.added_values(),
                                       fail_fast=not item.continue_on_error, share=share)
                    shown = display
            except (RsdeployError, OSError) as error:
                self.screen.app.call_from_thread(self._failed_to_start, item, error)
                return
            self.screen.app.call_from_thread(self._started, item, handle, shown, typed)

        self.screen.run_worker(job, thread=True, group="runs-start", exit_on_error=False)

    def _share(self) -> dict[str, Any] | None:
        """With a shared store: what the run's wrapper needs to upload its output and exit
        itself (``session/shared/run_upload.py``), so they land even if this app is gone."""
        store = getattr(self.session, "shared_store", None)
        if store is None:
            return None
        from rsdeploy_tui.session.shared.run_upload import settings

        return settings(store, self.session.id)

    def _cwd(self) -> Path | None:
        folder = self.screen.ctx.values.get("app_dir") or ""
        return Path(folder) if folder and Path(folder).is_dir() else None

