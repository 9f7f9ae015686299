"""The App: owns the session, shows the runbook screen, and handles launch, quit and signals.

``make_app`` is the one factory used by the command line and the tests; collaborators (clock,
glyph set, optional layers) are injected so tests swap in fakes without patching internals.
Nothing here imports boto3, botocore, httpx or psycopg2 (start-up time); the layers that need
them import them inside their functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from rsdeploy_tui import locations
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.ui.context import RunbookContext, utc_now
from rsdeploy_tui.ui.glyphs import pick
from rsdeploy_tui.ui.keyboard import OrderedKeys
from rsdeploy_tui.ui.screens.runbook import RunbookScreen

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import Session

SIGNAL_EXIT_GRACE_S = 3.0
"""Seconds a SIGHUP/SIGTERM exit may take before the process leaves without Textual's cleanup."""

# The dialogs' styles (modals.tcss) load with the first dialog (ui/screens/dialog.py).
STYLE_FILES = ("app.tcss", "runbook.tcss", "checks.tcss", "live.tcss")

# (action, palette title, help) for the command palette; availability from check_action.
PALETTE = [
    ("tick", "Tick / untick item", "Tick the highlighted item, or untick a done one"),
    ("skip", "Skip item", "Skip the highlighted item with a reason"),
    ("skip_section", "Skip section", "Skip every open item of the section with one reason"),
    ("fail", "Mark item failed", "Mark the highlighted item failed, with a reason"),
    ("note", "Add note", "Add a note to the highlighted item"),
    ("run", "Run command", "Run the highlighted item's command"),
    ("cancel_run", "Cancel run", "Cancel the highlighted item's running command"),
    ("check", "Run check", "Run the highlighted item's check"),
    ("check_all", "Run all checks of phase", "Run the checks of the phase's items not done yet"),
    ("check_all_done", "Re-run all checks of phase, done too",
     "Run every check of the current phase, re-checking done and skipped items too"),
    ("tick_passed", "Tick items whose check passed", "Tick the items whose check passed"),
    ("cancel_checks", "Cancel running checks", "Cancel every check that is running"),
    ("rollback", "Rollback", "Start a rollback with a reason / go to the Rollback phase"),
    ("logs", "Toggle eb logs pane", "Show or hide the eb logs pane"),
    ("logs_full", "eb logs full screen", "The eb logs pane full screen, or back"),
    ("next_pending", "Next pending item", "Go to the next pending item across phases"),
    ("values", "Set a value", "Every ${name} with its value and source; set one for this session"),
    ("filter", "Filter items", "Filter items by text"),
    ("clear_filter", "Clear filter", "Show every item again"),
    ("finish", "Finish session", "Finish the session (says what is still open first)"),
    ("help", "Keys", "Every key and what it does"),
    ("request_quit", "Quit", "Quit; the session can be resumed"),
]

OpenChoice = Callable[[str], "tuple[Session, str | None]"]


class RunbookApp(OrderedKeys[str | None]):
    """rsdeploy-tui. The exit result is the session id (to print how to resume)."""

    TITLE = "rsdeploy-tui"
    CSS_PATH = [locations.style_path(name) for name in STYLE_FILES]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        ctx: RunbookContext,
        session: Session | None,
        *,
        offer: Any = None,
        open_choice: OpenChoice | None = None,
        ask_deployment_info: bool = False,
        notice: str | None = None,
    ) -> None:
        # Keys typed after q stay in the terminal for the shell (ui/typeahead.py).
        from rsdeploy_tui.ui.typeahead import KeepTypeaheadDriver

        super().__init__(driver_class=KeepTypeaheadDriver)
        self.ctx = ctx
        self.session = session
        self._offer = offer
        self._open_choice = open_choice
        self._ask_info = ask_deployment_info
        self._notice = notice

    # ---------------------------------------------------------------- launch
    def on_mount(self) -> None:
        self._install_signal_handlers()
        if not gc.isenabled():  # the command line turned it off for the start-up (cli.py)
            self.call_after_refresh(self._collect_from_now_on)
        # ASCII borders too when the terminal's locale is not UTF-8 (styles/runbook.tcss).
        if self.ctx.glyphs.ascii:
            self.add_class("-ascii")
        if self.session is None:
            titles = {phase.id: phase.title for phase in self.ctx.checklist.phases}
            from rsdeploy_tui.ui.screens.resume import ResumeModal
            self.push_screen(ResumeModal(self._offer, titles, details=self._offer_details()),
                             self._launch_choice)
        elif self._runbook_pushed():
            self.push_screen(self._runbook_screen())
            self._after_runbook_shown()
        else:
            self._after_runbook_shown()

    def _runbook_pushed(self) -> bool:
        """Whether the runbook goes over a blank default screen rather than being it: when a
        decision on set-aside events may replace it with the session opened for writing
        (Textual switches only screens that were pushed)."""
        return getattr(self.session, "conflicts", None) is not None

    def _offer_details(self) -> Callable[[], Any] | None:
        """For the resume dialog: lock holder, runs still going, rollback (read in a thread)."""
        offer = self._offer
        if offer is None or not getattr(offer, "id", None):
            return None
        opener = self.ctx.services.get("open_offer")

        def details() -> Any:
            from rsdeploy_tui.session import SessionStore
            from rsdeploy_tui.ui.screens.resume import details_text

            opened = (opener() if opener is not None
                      else SessionStore().open(offer.id, read_only=True))
            return details_text(opened, self.ctx.checklist, self.ctx.clock())

        return details

    def _collect_from_now_on(self) -> None:
        """After the first frame: what start-up built stays for good (frozen, never scanned
        again); the cyclic collector runs again for what the session creates from now on, its
        full passes while the operator is not typing (ui/collector.py)."""
        self.collector.start(self)

    def get_default_screen(self) -> Screen[Any]:
        """The runbook itself when the session is known at start (no blank screen first)."""
        if self.session is None or self._runbook_pushed():
            return super().get_default_screen()
        return self._runbook_screen()

    def _runbook_screen(self) -> RunbookScreen:
        assert self.session is not None
        # One resolver: recorded vars, values set in the session, facts (ui/context.py).
        self.ctx.resolve(self.session)
        # A var that held a secret was stored masked: running with "****" in it would be wrong,
        # so it counts as empty (steps using it refuse to run and say so) until given again.
        lost = sorted(name for name, source in self.ctx.resolution.sources.items()
                      if source.source == "lost")
        if lost:
            again = " ".join(f"--set {name}=..." for name in lost)
            warning = (f"{', '.join(lost)} held a secret, which is never stored: steps using it "
                       f"will not run until it is given again (v sets a value, or resume with "
                       f"{again}).")
            self._notice = f"{self._notice} {warning}" if self._notice else warning
        return RunbookScreen(self.ctx, self.session)

    def _launch_choice(self, choice: str | None) -> None:
        assert self._open_choice is not None
        try:
            session, notice = self._open_choice(choice or "resume")
        except RsdeployError as error:
            self.exit(None, return_code=error.exit_code,
                      message=f"rsdeploy-tui: {error.title}\n{error.message}")
            return
        self.session = session
        self._notice = notice
        self._ask_info = choice == "new"
        self.push_screen(self._runbook_screen())
        self._after_runbook_shown()

    def _after_runbook_shown(self) -> None:
        """The restore notice, and the version/sprint question for a new session."""
        assert self.session is not None
        if self._notice:
            self.notify(self._notice, title="Session", timeout=8)
        if self._ask_info and not self.session.read_only:
            state = self.session.state(self.ctx.checklist)
            if not (state.facts.get("version") or self.ctx.values.get("version")):
                # After the runbook's first frame, so the modal is drawn over it.
                self.call_after_refresh(self._ask_deployment_info)

    def offer_conflict_decision(self) -> None:
        """The dialog listing the events set aside, for the first side file still waiting
        (the runbook asks for it once it is mounted, ``RunbookScreen.on_mount``)."""
        from rsdeploy_tui.ui.screens.conflicts import ConflictModal

        pending = getattr(self.session, "conflicts", None)
        if pending is None or not pending.files or self.session is None:
            return
        self.push_screen(ConflictModal(pending.files[0], self.ctx.checklist, self.session.id,
                                       len(pending.files)), self._conflict_decided)

    def _conflict_decided(self, decision: Any) -> None:
        if decision is None or self.session is None:
            self.notify("The session stays read-only until you decide what to do with the "
                        "events set aside (quit and resume to see them again, or `rsdeploy-tui "
                        f"conflicts {getattr(self.session, 'id', '')}`).",
                        title="Not decided", timeout=10)
            return
        pending = self.session.conflicts
        name, choice, seqs = decision

        def decide() -> None:  # the store and the lease: not on the event loop
            try:
                session = pending.decide(name, choice, seqs, False)
            except RsdeployError as error:
                self.call_from_thread(self.notify, f"{error.message} Nothing was decided; the "
                                      "session stays read-only.", title=error.title,
                                      severity="error", timeout=20)
                return
            self.call_from_thread(self._decided, session, name, choice)

        self.run_worker(decide, group="conflict-decision", exclusive=True, thread=True,
                        exit_on_error=False)

    def _decided(self, session: Session, name: str, choice: str) -> None:
        """Drive the session the decision opened (or show it read-only, when another side file
        still waits)."""
        old, self.session = self.session, session
        if old is not None:
            old.close()
        self._notice = (f"Decided on {name}: " + ("its events were recorded again on top of "
                        "the shared journal" if choice == "rerecord" else "the shared journal "
                        "was kept; its events stay set aside in the file") + ".")
        self.switch_screen(self._runbook_screen())
        self._after_runbook_shown()

    def _ask_deployment_info(self) -> None:
        from rsdeploy_tui.ui.screens.modals import DeploymentInfoModal

        self.push_screen(DeploymentInfoModal(), self._deployment_info)

    def session_vars(self) -> Mapping[str, str]:
        """Vars recorded when the session was created (what a resumed session runs with)."""
        meta = getattr(self.session, "meta", None)
        return dict(getattr(meta, "vars", None) or {})

    def _deployment_info(self, answer: dict[str, str] | None) -> None:
        screen = self.screen
        if not answer or not isinstance(screen, RunbookScreen):
            return
        for name in ("version", "sprint"):
            if answer.get(name):
                screen.record("fact", name=name, value=answer[name])

    # ---------------------------------------------------------------- quit and signals
    def _install_signal_handlers(self) -> None:
        """SIGHUP (SSH link dropped) and SIGTERM end the app cleanly; the journal is durable.

        Plain ``signal.signal`` handlers, not the event loop's: they run in the main thread even
        while the loop is stuck in Textual's shutdown (which can block writing to a vanished
        terminal), so the watchdog below always starts.
        """
        if self.is_headless:
            return  # tests (Pilot): the handlers would outlive the app in the test process
        loop = asyncio.get_running_loop()

        def on_signal(signum: int, _frame: object) -> None:
            self._start_watchdog(signum)
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(self._on_signal, signum)

        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                signal.signal(signum, on_signal)
            except ValueError:
                continue  # not the main thread (tests)

    def _on_signal(self, signum: int) -> None:
        for candidate in self.screen_stack:  # the SSH link dropped: keep where the cursor was
            if isinstance(candidate, RunbookScreen):
                candidate.remember_cursor()
        self.exit(self.session.id if self.session else None, return_code=128 + signum)

    def _start_watchdog(self, signum: int) -> None:
        """After SIGHUP the terminal is gone and Textual's shutdown can block for good writing to
        it (its writer thread, seen in the tmux tests). Everything is already durable: if the
        normal exit has not happened within a few seconds, release the lock and leave."""
        watchdog = threading.Timer(SIGNAL_EXIT_GRACE_S, self._force_exit, (signum,))
        watchdog.daemon = True
        watchdog.start()

    def _force_exit(self, signum: int) -> None:
        """Last resort after a signal: close the session (lock released) and exit at once."""
        if self.session is not None:
            # Exiting anyway on failure: the journal is fsync'd per event, and a stale lock of
            # a dead process is taken over on the next open.
            with contextlib.suppress(OSError, RsdeployError):
                self.session.close()
        os._exit(128 + signum)

    def action_quit(self) -> None:  # type: ignore[override]
        """ctrl+q behaves like q on the runbook (asks when work is running)."""
        for candidate in self.screen_stack:
            if isinstance(candidate, RunbookScreen):
                candidate.action_request_quit()
                return
        self.exit(self.session.id if self.session else None)

    # ---------------------------------------------------------------- palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every runbook action by name (only those available now)."""
        ours: set[str] = set()
        if isinstance(screen, RunbookScreen):
            ours = {title for _, title, _ in PALETTE}  # listed once: ours, not Textual's too
            for action, title, help_text in PALETTE:
                if screen.check_action(action, ()):
                    yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
        for command in super().get_system_commands(screen):
            if command.title not in ours:
                yield command


def make_app(
    checklist: Checklist,
    session: Session | None = None,
    *,
    values: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
    ascii_only: bool | None = None,
    lock_holder: str | None = None,
    offer: Any = None,
    open_choice: OpenChoice | None = None,
    ask_deployment_info: bool = False,
    notice: str | None = None,
    services: dict[str, Any] | None = None,
    use_git: bool = True,
) -> RunbookApp:
    """Build the App for the command line and the tests.

    Args:
        checklist: The loaded checklist.
        session: The open session; None with ``offer`` + ``open_choice`` to ask first.
        values: Resolved vars; the session's recorded vars fill in what is missing.
        clock: Returns now (UTC); fixed in snapshot tests.
        ascii_only: Force the ASCII marks (None: decide from the locale).
        lock_holder: Who holds the lock when the session was opened read-only for that reason.
        offer: A ``SessionSummary`` of an unfinished session to offer resuming.
        open_choice: ``choice -> (session, notice)`` for resume/new/read_only.
        ask_deployment_info: Ask for version and sprint (new sessions).
        notice: Shown once the runbook is up (what a resume restored).
        services: Optional layers (``runner``, ``checks``, ``logs``).
        use_git: Let the reports widgets run ``git log`` (off in tests).
    """
    ctx = RunbookContext(
        checklist=checklist,
        values=dict(values or {}),
        glyphs=pick(ascii_only),
        clock=clock,
        lock_holder=lock_holder,
        services=dict(services or {}),
        use_git=use_git,
    )
    return RunbookApp(ctx, session, offer=offer, open_choice=open_choice,
                      ask_deployment_info=ask_deployment_info, notice=notice)
