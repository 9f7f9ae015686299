"""Runs on screen: the runbook's ``r``/``x`` and re-attaching runs on resume.

``RunController`` is owned by the runbook screen, which delegates its run and cancel keys to it.
It starts an item's command (or built-in action) detached through the runner, follows its log
into the output view, and records ``command_started`` / ``command_finished`` /
``run_cancelled`` / ``confirmation`` / ``fact`` events through ``RunbookScreen.record`` (durable,
then re-render). It also composes the environment banner (the log pane is ``ui/logs.py``).
Blocking runner calls (``start_run``, ``cancel_run``, boto3) run in thread workers; following a
log is an async worker.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord
from rsdeploy_tui.ui import run_notes, view
from rsdeploy_tui.ui.run_start import RunStart

if TYPE_CHECKING:
    from rsdeploy_tui.actions import ActionResult
    from rsdeploy_tui.checklist.model import Item
    from rsdeploy_tui.session.state import RunRecord
    from rsdeploy_tui.ui.screens.runbook import RunbookScreen

TAIL_LINES = 20
"""Lines of output kept in ``command_finished.tail``."""
_EB_DEPLOY = re.compile(r"^\s*(?:\S+=\S*\s+)*eb\s+deploy\b", re.M)
_EB_LOGS = re.compile(r"^\s*(?:\S+=\S*\s+)*eb\s+logs\b", re.M)
_TARGET = re.compile(r"--(?:version|label)[ =](\S+)")


@datarecord(frozen=True)
class Followed:
    """A detached run the controller follows until it ends."""

    qid: str
    run_id: str
    run_dir: Path
    command: str
    """As displayed and recorded (secrets masked)."""
    remote: str | None = None
    """Another machine's run (its host): ``run_dir`` is this machine's copy from the shared
    store (``ui/remote_runs.py``)."""


def is_eb_logs(command: str) -> bool:
    """Does the command run ``eb logs`` (whose lines are Python bytes literals when piped)?"""
    return bool(_EB_LOGS.search(command))


def is_eb_deploy(command: str) -> bool:
    """Does the command run ``eb deploy`` (whose exit 4 needs the API's explanation)?"""
    return bool(_EB_DEPLOY.search(command))


class RunController(RunStart):
    """Runs, cancels and follows item commands for one runbook screen."""

    def __init__(self, screen: RunbookScreen) -> None:
        self.screen = screen
        self.session = screen.session
        self.checklist = screen.checklist
        self.services = screen.ctx.services
        self.output = screen.run_output
        self.ready = False
        self._cancelling: dict[str, tuple[Followed, dict[str, Any], Any] | None] = {}
        self._missing: dict[str, list[str]] = {}
        self._cancelled: dict[str, str] = {}
        self._dropping: set[str] = set()
        self._attached: set[str] = set()
        self._sharing: dict[str, str] = {}  # run id -> its uploader's last state shown
        self.remote: dict[str, Any] = {}
        """Runs of other machines followed through the shared store (``RemoteWatch`` by id)."""

    @property
    def values(self) -> dict[str, str]:
        """The session's values (one resolver: vars, values set, facts; ui/context.py)."""
        return dict(self.screen.ctx.values)

    @property
    def run_dir(self) -> Path:
        """Where this session's runs keep their files."""
        return Path(self.session.dir) / "runs"

    # ------------------------------------------------------------ start-up and resume
    def start(self) -> None:
        """Re-attach runs and show the item's last run (the runbook calls this once its first
        frame is drawn)."""
        self.ready = True
        if self.services.get("reattach", True):
            self.resume()
        self.item_shown(self.screen.current_item)

    def resume(self, quiet: bool = False) -> None:
        """Re-attach every run recorded as started and not finished (output so far, then live);
        ``quiet``: without the toast (runs a followed session recorded since it was opened)."""
        from rsdeploy_tui.runner import run_status, tail_lines
        from rsdeploy_tui.ui import remote_runs

        attached = ended = elsewhere = 0
        for qid, record in list(self.screen.state.items.items()):
            for run in record.runs:
                if run.finished is not None or run.run in self._attached:
                    continue
                self._attached.add(run.run)
                if not run.log:
                    self._interactive_lost(qid, run)
                    continue
                if remote_runs.is_remote(self, run):
                    elsewhere += 1
                    remote_runs.follow(self, qid, run)
                    continue
                followed = Followed(qid, run.run, Path(run.log).parent, run.command)
                self.output.open_run(run.run, self._title(qid, run.command))
                status = run_status(followed.run_dir, run.run)
                # Recording an earlier run's end re-renders, and the view may have loaded this
                # run's tail already: start its lines afresh, never twice.
                if status.running:
                    attached += 1
                    self.output.reset_lines(run.run, [])
                    self._follow(followed)
                else:
                    ended += 1
                    self.output.reset_lines(run.run, tail_lines(Path(run.log), 200,
                                                                keep_colour=True))
                    self._ended(followed)
        if quiet:
            return
        if attached or ended:
            self.screen.notify(
                f"Re-attached {attached} running command(s); {ended} ended while the app was "
                "away (recorded).", title="Runs")
        if elsewhere:
            self.screen.notify(f"Following {elsewhere} command(s) running on another machine "
                               "through the shared store.", title="Runs")

    def attach_new(self) -> None:
        """Runs recorded since (by the process driving a session this screen follows): shown
        and followed like the ones found at start."""
        if self.ready and self.services.get("reattach", True):
            self.resume(quiet=True)

    def _interactive_lost(self, qid: str, run: RunRecord) -> None:
        if self.session.read_only:
            return
        self.screen.record("command_finished", item=qid, run=run.run, exit_code=None,
                           duration_s=None, tail=[],
                           lost="interactive: the app ended while it ran; exit code unknown")

    # ------------------------------------------------------------ what the view shows
    def item_shown(self, item: Item | None) -> None:
        """The highlighted item changed: show its latest run (or hide the view)."""
        if not self.ready:
            return
        if item is None:
            self.output.show(None)
            return
        if item.qid in self._missing:
            key = f"missing-{item.qid}"
            self.output.show(key)
            return
        runs = self.screen.state.item(item.qid).runs
        if not runs:
            self.output.show(None)
            return
        run = runs[-1]
        # A run still going is opened and followed by resume() (from offset 0): loading its
        # tail here too, when a record during resume() re-renders first, doubled its lines.
        if run.run not in self.output.runs and (run.finished is not None
                                                or not self.services.get("reattach", True)):
            self._load_finished(item.qid, run)
        self.output.show(run.run)

    def _load_finished(self, qid: str, run: RunRecord) -> None:
        from rsdeploy_tui.runner import tail_lines
        from rsdeploy_tui.ui import remote_runs

        status, state = self._status_words(run.exit_code, run.cancelled, run.finished is None)
        self.output.open_run(run.run, self._title(qid, run.command), status=status, state=state)
        if run.log and remote_runs.is_remote(self, run):  # another machine's: this one's copy
            copy = remote_runs.mirrored_log(self, run)
            self.output.feed(run.run, tail_lines(copy, 200, keep_colour=True) if copy else
                             ["(ran on another machine; its last lines:)", *run.tail])
        elif run.log:
            self.output.feed(run.run, tail_lines(Path(run.log), 200, keep_colour=True))
        elif (terminal := self.run_dir / f"{run.run}.log").exists():
            self.output.feed(run.run, run_notes.terminal_lines(self, terminal))
        else:
            self.output.feed(run.run, ["(interactive: the output went to the terminal)"])
        self.output.feed(run.run, run_notes.ending_lines(run.failed, None, None, run.exit_code))

    def _title(self, qid: str, command: str) -> str:
        lines = command.strip().splitlines() if command else []
        first = lines[0] if lines else ""
        more = len(lines) - 1
        return f"{qid}  $ {first}" + (f" … (+{more} line{'s' if more > 1 else ''})" if more
                                      else "")

    @staticmethod
    def _status_words(code: int | None, cancelled: str | None, running: bool,
                      duration: float | None = None) -> tuple[str, str]:
        took = f" in {duration:.1f} s" if duration is not None else ""
        if running:
            return "running", "running"
        if cancelled:
            return f"cancelled ({cancelled}){took}", "cancelled"
        if code is None:
            return "ended, exit code unknown", "unknown"
        return f"exit {code}{took}", "ok" if code == 0 else "failed"

    def running_on(self, item: Item | None) -> str | None:
        """``<host>`` (and how long it has been quiet) of the item's run on another machine."""
        from rsdeploy_tui.ui import remote_runs

        return remote_runs.running_on(self, item.qid) if item is not None and self.remote \
            else None

    # ------------------------------------------------------------ o / w: how output shows
    def toggle_full(self) -> None:
        """``o``: the shown run's output full screen (focused, to scroll it), or back."""
        from rsdeploy_tui.ui.widgets.phase_pane import PhasePane
        from rsdeploy_tui.ui.widgets.run_output import RunOutputView

        self.output.toggle_full()
        listed = self.screen.current_list
        if not self.output.full:
            if listed is not None:
                listed.focus()
            return
        for pane in self.screen.query(PhasePane):
            if pane.item_list is listed:
                pane.query_one(RunOutputView).focus_log()

    def toggle_wrap(self) -> None:
        """``w``: long lines soft-wrap, or stay one line each (scrolled sideways)."""
        self.output.toggle_wrap()
        self.screen.notify("Run output: long lines wrap." if self.output.wrap else
                           "Run output: one line each; left/right scroll in full screen (o).")

    # ------------------------------------------------------------ r: run
    def open_run(self, qid: str) -> RunRecord | None:
        """The item's run that has not finished, if any."""
        runs = [r for r in self.screen.state.item(qid).runs if r.finished is None]
        return runs[-1] if runs else None

    def _failed_to_start(self, item: Item, error: Exception) -> None:
        title = getattr(error, "title", "Could not start")
        message = getattr(error, "message", str(error))
        self.screen.notify(message, title=title, severity="error", timeout=15)

    def _started(self, item: Item, handle: Any, display: str, typed: str | None) -> None:
        self._attached.add(handle.run_id)
        self.output.open_run(handle.run_id, self._title(item.qid, display))
        recorded = self.screen.record(
            "command_started", item=item.qid, run=handle.run_id, command=display,
            pid=handle.pid, log=str(handle.log_path), confirmed=typed)
        if not recorded:
            self.screen.notify("The command runs, but its start could not be recorded.",
                               severity="error", timeout=15)
        self._follow(Followed(item.qid, handle.run_id, handle.log_path.parent, display))
        self.item_shown(self.screen.current_item)

    # ------------------------------------------------------------ following and finishing
    def _follow(self, followed: Followed, stop: Any = None) -> None:
        self.screen.run_worker(self._follow_log(followed, stop), name=f"run:{followed.run_id}",
                               group="runs", exit_on_error=False)

    async def _follow_log(self, followed: Followed, stop: Any = None) -> None:
        from rsdeploy_tui.runner import follow_log, run_status

        checked = 0.0

        def lost() -> bool:
            if stop is not None:  # another machine's run: its copy says when it ends
                return bool(stop())
            # A wrapper killed with SIGKILL never writes its exit file: look once a second.
            nonlocal checked
            now = time.monotonic()
            if now - checked < 1.0:
                return False
            checked = now
            run_notes.show_drop_note(self, followed)
            run_notes.show_share_note(self, followed)
            return run_status(followed.run_dir, followed.run_id).lost

        log = followed.run_dir / f"{followed.run_id}.log"
        redact = self.session.redactor.text
        decode = is_eb_logs(followed.command)  # shown decoded, as the log pane shows them
        if decode:
            from rsdeploy_tui.runner.eb_logs import readable_lines
        try:
            async for batch in follow_log(log, stop=lost, redact=redact):
                if decode:
                    # Again after decoding: an escaped secret is only readable now.
                    batch = [redact(line) for line in readable_lines(batch)]
                self.output.feed(followed.run_id, batch)
        except Exception as error:
            self.screen.notify(
                f"Stopped following {followed.run_id} ({type(error).__name__}: {error}). The "
                "command itself runs on; quitting and resuming re-attaches it.",
                title="Run output", severity="error", timeout=15)
            return
        if followed.remote and not (followed.run_dir / f"{followed.run_id}.exit").exists():
            return  # stopped on damaged objects: never recorded as ended without its exit
        self._ended(followed)

    def _ended(self, followed: Followed) -> None:
        """The run is over: gather exit code, duration, tail and action result; record them."""
        from rsdeploy_tui.actions import collect_result
        from rsdeploy_tui.runner import run_status, tail_lines
        from rsdeploy_tui.runner.detached import read_exit

        status = run_status(followed.run_dir, followed.run_id)
        ended = read_exit(followed.run_dir, followed.run_id) or {}
        log = followed.run_dir / f"{followed.run_id}.log"
        tail = [self.session.redactor.text(line) for line in tail_lines(log, TAIL_LINES)]
        data: dict[str, Any] = {"run": followed.run_id, "exit_code": status.exit_code,
                                "duration_s": ended.get("duration_s"), "tail": tail}
        if status.lost:
            data["lost"] = "the run's wrapper is gone without an exit file; exit code unknown"
        if status.failed is not None:
            data["failed"] = status.failed
        if status.background:
            data["background"] = status.background
        if status.output_dropped is not None:
            data["output_dropped"] = status.output_dropped
        result = collect_result(followed.run_dir, followed.run_id)
        if followed.run_id in self._cancelling:
            self._cancelling[followed.run_id] = (followed, data, result)
            return
        self._record_finish(followed, data, result,
                            cancelled=self._cancelled.pop(followed.run_id, None))

    def _record_finish(self, followed: Followed, data: dict[str, Any],
                       result: ActionResult | None, cancelled: str | None = None) -> None:
        code = data.get("exit_code")
        words, state = self._status_words(code, cancelled, False, data.get("duration_s"))
        self.output.set_status(followed.run_id, words, state)
        self.output.feed(followed.run_id, run_notes.ending_lines(
            data.get("failed"), data.get("background"), data.get("output_dropped"), code))
        if result is not None and result.summary:
            self.output.feed(followed.run_id, ["", f"Result: {result.summary}"])
        if self.session.read_only:
            return
        if result is not None:
            for name, value in result.facts.items():
                self.screen.record("fact", item=followed.qid, name=name, value=value)
            if result.interrupted:
                data["interrupted"] = result.summary
                self.screen.record("note", item=followed.qid, text=result.summary)
        self.screen.record("command_finished", item=followed.qid, **data)
        item = self.checklist.find_item(followed.qid)
        what = self.screen.ctx.display(item.text) if item else followed.qid
        if cancelled:
            self.screen.notify(f"Cancelled: {what}", title="Run cancelled")
        elif code == 0:
            if item is not None and item.tick_on_success and (result is None or result.ok):
                self._tick_on_success(item)
            else:
                self.screen.notify(f"Done (exit 0): {what}", title="Command finished")
            if item is not None:  # its check result is now stale: check again
                self.screen.checking.recheck_after_run(item)
        elif code is None:
            reason = data.get("interrupted") or data.get("lost") or "exit code unknown"
            self.screen.notify(f"{what}: {reason}", title="Run interrupted",
                               severity="warning", timeout=15)
        else:
            from rsdeploy_tui.runner.steps import describe_failure

            last = "\n".join(data.get("tail", [])[-5:])
            where = describe_failure(data.get("failed")) or f"exit {code}"
            self.screen.notify(f"{what}: {where}\n{last}", title="Command failed",
                               severity="error", timeout=15)
            if is_eb_deploy(followed.command):
                self._explain_deploy(followed)

    def _tick_on_success(self, item: Item) -> None:
        """Exit 0 of a ``tick_on_success`` item ticks it, unless a gate or requires blocks it."""
        if view.state_name(self.screen.state, item.qid) == "done":
            return
        blocking = view.blockers(self.checklist, item, self.screen.state)
        if blocking:
            names = ", ".join(b.qid for b in blocking)
            self.screen.notify(f"Exit 0, but not ticked: waiting for {names}.",
                               title="Command finished", severity="warning", timeout=10)
            return
        if self.screen.record("tick", item=item.qid):
            self.screen.notify(f"Exit 0: ticked {self.screen.ctx.display(item.text)}",
                               title="Command finished")

    def _explain_deploy(self, followed: Followed) -> None:
        """After a failed ``eb deploy``: what Elastic Beanstalk says (in a thread)."""
        values = self.values
        found = _TARGET.search(followed.command)
        target = found.group(1) if found else values.get("version") or None
        env_name = values.get("eb_env", "")

        def job() -> None:
            from rsdeploy_tui.runner import explain_deploy_exit

            explain = self.services.get("explain_deploy_exit") or explain_deploy_exit
            try:
                lines = list(explain(env_name, target, values))
            except Exception as error:
                lines = [f"Could not ask Elastic Beanstalk: {type(error).__name__}: {error}"]
            self.screen.app.call_from_thread(self._explained, followed, lines)

        self.screen.run_worker(job, thread=True, group="runs-explain", exit_on_error=False)

    def _explained(self, followed: Followed, lines: list[str]) -> None:
        self.output.feed(followed.run_id, ["", "What Elastic Beanstalk says:",
                                           *(f"  {line}" for line in lines)])
        self.screen.notify("\n".join(lines[:3]), title="eb deploy: what EB says",
                           severity="warning", timeout=20)

    # ------------------------------------------------------------ x: cancel
    def cancel(self, item: Item) -> None:
        """Cancel the item's running command after confirmation."""
        run = self.open_run(item.qid)
        if run is None or not run.log:
            self.screen.notify("Nothing of this item is running in the background.")
            return
        if run.run in self.remote:
            self.screen.notify(f"It runs on {self.remote[run.run].host}: only that machine "
                               "can cancel it.", severity="warning")
            return
        grace = float(self.services.get("cancel_grace", 3.0))
        question = (f"$ {run.command}\n\nIts whole process group gets SIGINT, then SIGTERM after "
                    f"{grace:g} s, then SIGKILL.")
        from rsdeploy_tui.ui.screens.modals import ConfirmModal
        self.screen.app.push_screen(
            ConfirmModal("Cancel the running command?", question, yes="Cancel it",
                         no="Keep running"),
            lambda yes: self._cancel(item, run, grace) if yes else None)

    def _cancel(self, item: Item, run: RunRecord, grace: float) -> None:
        from rsdeploy_tui.runner import cancel_run

        run_dir = Path(str(run.log)).parent
        self._cancelling[run.run] = None
        self.output.set_status(run.run, "cancelling...", "running")

        def job() -> None:
            try:
                outcome = cancel_run(run_dir, run.run, grace=grace)
            except RsdeployError as error:
                self.screen.app.call_from_thread(self._cancel_done, item, run.run, None, error)
                return
            self.screen.app.call_from_thread(self._cancel_done, item, run.run, outcome, None)

        self.screen.run_worker(job, thread=True, group="runs-cancel", exit_on_error=False)

    def _cancel_done(self, item: Item, run_id: str, outcome: Any,
                     error: RsdeployError | None) -> None:
        deferred = self._cancelling.pop(run_id, None)
        signal = None
        if error is not None:
            self.screen.notify(error.message, title=error.title, severity="error", timeout=15)
        else:
            signal = outcome.signal or "none (it had ended)"
            self.screen.record("run_cancelled", item=item.qid, run=run_id, signal=signal,
                               exit_code=outcome.exit_code)
        if deferred is not None:
            self._record_finish(*deferred, cancelled=signal)
        elif signal is not None:
            self._cancelled[run_id] = signal  # the follower records the end with this
