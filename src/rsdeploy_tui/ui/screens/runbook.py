"""The runbook screen: one tab per phase, the item list, the detail panel, the keys.

Every action goes through ``Session.record`` (durable before it shows) and then the whole screen
re-renders from ``Session.state``; widgets never hold item state.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.ui import checking, landing, view
from rsdeploy_tui.ui.logs import LogsToggle
from rsdeploy_tui.ui.recording import BatchedRecorder
from rsdeploy_tui.ui.rollback_banner import RollbackBanner
# The key sets stay importable from here, where they were defined before the footer moved.
from rsdeploy_tui.ui.screens.runbook_footer import (  # noqa: F401
    ITEM_ACTIONS, LIST_ONLY_ACTIONS, NARROW_FOOTER, NARROW_HIDDEN, READ_ONLY, WHY_NOT,
    WRITE_ACTIONS, RunbookFooter, _is_text_box)
from rsdeploy_tui.ui.screens.runbook_header import RunbookHeaderFigures
from rsdeploy_tui.ui.screens.runbook_keys import (
    LOG_TAB,
    MESSAGES_TAB,
    RunbookKeys,
    pane_id,
)
from rsdeploy_tui.ui.screens.runbook_landing import RunbookLanding
from rsdeploy_tui.ui.screens.runbook_outcomes import RunbookOutcomes
from rsdeploy_tui.ui.widgets.env_banner import compose_env_banner
from rsdeploy_tui.ui.widgets.header import RunbookHeader
from rsdeploy_tui.ui.widgets.key_bar import KeyBar
from rsdeploy_tui.ui.widgets.item_list import ItemList
from rsdeploy_tui.ui.widgets.phase_pane import PhasePane
from rsdeploy_tui.ui.widgets.phase_tabs import PhaseTabs, TabPage
from rsdeploy_tui.ui.widgets.run_output import RunOutput

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item, Phase
    from rsdeploy_tui.session import Session, SessionState
    from rsdeploy_tui.ui.context import RunbookContext
    from rsdeploy_tui.ui.runs import RunController

MIN_WIDTH, MIN_HEIGHT = 80, 24
SHORT_HEIGHT = 30
"""Below this many rows the screen is ``-short``: one header line, one banner line, no list
borders top and bottom, so the item list keeps at least 10 rows at 80x24 with the log pane
open."""


RENDER_BATCH_S = 0.1
"""Longest a check result's re-render waits for the results landing after it."""


class RunbookScreen(RunbookKeys, RunbookOutcomes, RunbookFooter, RunbookHeaderFigures,
                    RunbookLanding, Screen[None]):
    """The operator's whole day: phases as tabs, items, detail, keys."""

    # The list of the tab built at start gets the focus when the screen shows (keys work at once).
    AUTO_FOCUS = "ItemList"

    BINDINGS = [
        Binding("space", "tick", "Tick", tooltip="Tick the item / untick a done one"),
        Binding("s", "skip", "Skip", tooltip="Skip the item with a reason"),
        Binding("S", "skip_section", "Skip section", show=False,
                tooltip="Skip every open item of the section with one reason"),
        Binding("F", "fail", "Failed", show=False, tooltip="Mark the item failed with a reason"),
        Binding("E", "finish", "Finish", show=False,
                tooltip="Finish the session (says what is still open first)"),
        Binding("n", "note", "Note", tooltip="Add a note to the item"),
        Binding("r", "run", "Run", tooltip="Run the item's command"),
        Binding("x", "cancel_run", "Cancel", show=False, tooltip="Cancel the item's run"),
        # Not in the footer (it would push Quit off an 80-column line): the output view's border
        # names o and w, and ? lists them.
        Binding("o", "output_full", "Output", show=False,
                tooltip="The run's output full screen, or back"),
        Binding("w", "output_wrap", "Wrap", show=False,
                tooltip="Run output: wrap long lines, or one line each scrolled sideways"),
        Binding("c", "check", "Check", tooltip="Run the item's check"),
        Binding("a", "check_all", "All checks", show=False, tooltip="Run every check of the phase"),
        Binding("l", "logs", "Logs", show=False, tooltip="Show or hide the eb logs pane"),
        Binding("L", "logs_full", "Logs full screen", show=False, tooltip="eb logs full screen"),
        Binding("g", "next_pending", "Next", tooltip="Next pending item across phases"),
        # Shown in the footer only where the item lacks a value; v works everywhere (values).
        Binding("v", "set_value", "Set value", tooltip="Set a value this item lacks"),
        Binding("v", "values", "Values", show=False,
                tooltip="Every value and where it comes from; set one"),
        Binding("slash", "filter", "Filter", tooltip="Filter items by text"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("question_mark", "help", "Help", tooltip="Every key"),
        Binding("q", "request_quit", "Quit", tooltip="Quit; the session can be resumed"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        # Priority: scroll views (the log tab) would take left/right; text boxes keep them
        # (check_action lets the key through when a text box has the focus).
        Binding("left", "switch_phase(-1)", "Previous phase", show=False, priority=True),
        Binding("right", "switch_phase(1)", "Next phase", show=False, priority=True),
        *(Binding(str(n), f"goto_phase({n})", f"Phase {n}", show=False) for n in range(1, 10)),
        *checking.BINDINGS,
    ]

    def __init__(self, ctx: RunbookContext, session: Session) -> None:
        super().__init__()
        self.ctx = ctx
        self.checklist = ctx.checklist
        self.session = session
        self.state: SessionState = session.state(ctx.checklist)
        self._render_due: Any = None  # a batched re-render's timer (check results)
        self._recording = 0  # record_async calls whose append is under way
        self._batched = BatchedRecorder(session)
        self._warnings_shown = len(session.warnings)  # those at open are told at launch
        self._cursor_placed = False
        # Where the cursor goes first: the running item, else where it was at the last quit,
        # else the next pending item (ui/landing.py).
        self._landing = landing.landing_item(self.checklist, self.state,
                                             landing.last_cursor(session.events))
        # Phase panes in the DOM, by tab id, and the tabs: every key and every landing check
        # result asks for them, and a query walks the whole screen.
        self._panes: dict[str, PhasePane] = {}
        self._tabs: PhaseTabs | None = None  # set by compose
        self.checking = checking.CheckController(self)
        # What the run output views draw; the run controller fills it once built.
        self.run_output = RunOutput()
        self._runs: RunController | None = None
        self.logs = LogsToggle(self)

    @property
    def runs(self) -> RunController:
        """Runs and their output (ui/runs.py), built after the first frame or on first use."""
        if self._runs is None:
            from rsdeploy_tui.ui.runs import RunController

            self._runs = RunController(self)
        return self._runs

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield RunbookHeader(id="header")
        yield from compose_env_banner(self.ctx.values, self.ctx.services)
        if self.session.read_only:
            yield Static(self._read_only_text(), id="banner")
        yield RollbackBanner(self.checklist, id="rollback-banner")
        # Only the tab where work resumes is built now; the others when first shown (and the
        # filter box, the report tabs and the too-small message when first needed).
        first = (self.checklist.phase_of(self._landing) if self._landing is not None
                 else view.resume_phase(self.checklist, self.state))
        self._tabs = PhaseTabs(id="phases", initial=pane_id(first), ascii=self.ctx.glyphs.ascii)
        with self._tabs:
            for phase in self.checklist.phases:
                with TabPage(view.tab_label(phase, self.state), id=pane_id(phase)):
                    if phase is first:
                        yield PhasePane(phase, self.ctx)
            yield TabPage("Log", id=LOG_TAB)  # the Deployment Log
            yield TabPage("Messages", id=MESSAGES_TAB)
        # The palette (ctrl+p) is listed in the help screen; the footer keeps room for keys.
        yield KeyBar()

    async def _mount_report_view(self, pane: TabPage) -> None:
        """Mount the reports layer's widget the first time its tab is shown.

        Imported and built on demand, not at start-up: the first frame comes first, and the log
        is rebuilt each time the tab is shown, so it reflects every event recorded so far.
        """
        from rsdeploy_tui.ui.widgets.communication import CommunicationPanel
        from rsdeploy_tui.ui.widgets.deploy_log import DeploymentLogView

        kind: type[DeploymentLogView | CommunicationPanel] = (
            DeploymentLogView if pane.id == LOG_TAB else CommunicationPanel)
        found = pane.query(kind)
        if found:
            for shown in found:
                shown.vars = dict(self.ctx.values)  # values set since it was built
            for log_view in pane.query(DeploymentLogView):
                log_view.refresh_report()
            self._focus_inside(pane)
            return
        # Saved files go into the session directory, never the operator's working tree (often
        # the Django project's git checkout).
        save_dir = getattr(self.session, "dir", None)
        await pane.mount(kind(self.checklist, self.session, vars=self.ctx.values,
                              clock=self.ctx.clock, use_git=self.ctx.use_git,
                              save_dir=save_dir))
        self._focus_inside(pane)

    def _focus_inside(self, pane: TabPage) -> None:
        """Focus the first focusable widget of a tab (so its own keys work at once)."""
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

    async def on_unmount(self) -> None:
        self.session.on_warning = None
        await self.checking.process.close()  # its running checks are cancelled there

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        self.session.on_warning = lambda: loop.call_soon_threadsafe(self._tell_warnings)
        if self.session.read_only or getattr(self.session, "shared", None) is not None:
            from rsdeploy_tui.ui.follow import SessionFollower

            # live: what the driver records shows here; a shared holder learns it lost the lease
            self.follower = SessionFollower(self)
            self.follower.start()
        if self.session.read_only:
            self.add_class("-read-only")
        self.render_state()
        self.set_interval(1.0, self._tick_clock)
        self._check_size()
        self.call_after_refresh(self._attach_runs)
        # The first tab is set up by compose and phase_pane_mounted (no TabActivated for it);
        # what entering a phase offers comes after the first frame.
        self.call_after_refresh(self._offer_phase_checks)
        offer = getattr(self.app, "offer_conflict_decision", None)
        if getattr(self.session, "conflicts", None) is not None and offer is not None:
            # events set aside after a conflict between machines wait for a decision (#18)
            self.call_after_refresh(offer)

    def _attach_runs(self) -> None:
        """After the first frame: re-attach runs still going, show the item's last run."""
        self.runs.start()

    def _read_only_text(self) -> Text:
        lock = getattr(self.session, "holder", None)
        holder = self.ctx.lock_holder or (lock.describe() if lock is not None else None)
        return Text(
            f"READ-ONLY: this session is held by {holder}; nothing you do here changes it."
            if holder else "READ-ONLY: nothing you do here changes the session."
        )

    def phase_pane_mounted(self, phase_pane: PhasePane) -> None:
        """A phase tab's content is in the DOM: fill its list from the session.

        Called by ``PhasePane.on_mount`` (nested widgets compose on their own schedule, so
        the screen's own ``on_mount`` may run before they exist). The first one is the phase
        where work stopped: the cursor goes on the landing item (``ui/landing.py``).
        """
        self._panes[pane_id(phase_pane.phase)] = phase_pane
        phase_pane.item_list.checking = self.checking.in_flight  # the live set: ⟳ cells
        phase_pane.item_list.rebuild(self.state, self._filter_text())
        phase_pane.show_state(self.state)
        self._place_cursor(phase_pane)  # ui/screens/runbook_landing.py
        self._update_detail()

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        too_small = self.size.width < MIN_WIDTH or self.size.height < MIN_HEIGHT
        if too_small and not self.query("#too-small"):
            self.mount(Static(
                f"The terminal is too small: rsdeploy-tui needs at least {MIN_WIDTH}x"
                f"{MIN_HEIGHT}. Enlarge the window; nothing is lost.", id="too-small"))
        if self.has_class("-too-small") != too_small:  # a class change restyles everything
            self.set_class(too_small, "-too-small")
            self.refresh_bindings()  # keys are off while too small (check_action)
        short = self.size.height < SHORT_HEIGHT
        if self.has_class("-short") != short:
            self.set_class(short, "-short")
            self.query_one(RunbookHeader).set_compact(short)
            self.query_one(RollbackBanner).refresh_from(self.state)

    # ---------------------------------------------------------------- rendering
    def render_state(self) -> None:
        """Re-render everything that depends on session state."""
        if self._render_due is not None:  # this render is the one that was due
            self._render_due.stop()
            self._render_due = None
        state = self.state
        tabbed = self.tabs
        for phase in self.checklist.phases:
            tabbed.set_label(pane_id(phase), view.tab_label(phase, state))
        for phase_pane in list(self._panes.values()):
            phase_pane.show_state(state)
        self._update_header()
        self._update_detail()
        self.refresh_bindings()

    def _update_detail(self) -> None:
        phase_pane = self._phase_pane()
        if phase_pane is None:
            return  # a report tab, or a phase tab still being built (it calls this once built)
        item = self.current_item
        if self._runs is not None:  # before, the run controller shows it when it starts
            self._runs.item_shown(item)
        detail = phase_pane.detail
        if item is None:
            detail.show(view.detail_empty())
            return
        from rsdeploy_tui.rollback import missing_hint
        from rsdeploy_tui.values import item_templates

        command, _ = self.ctx.command_shown(item, self.state.facts)
        missing = self.ctx.missing(*item_templates(item, self.state.facts, self.ctx.values))
        running_on = self._runs.running_on(item) if self._runs is not None else None
        detail.show(self.checking.decorate_detail(item, view.detail_text(
            self.checklist, item, self.state, self.ctx.display_marked, self.ctx.glyphs,
            command=command, missing=missing, hint=missing_hint, running_on=running_on)))

    # ---------------------------------------------------------------- lookups
    @property
    def tabs(self) -> PhaseTabs:
        """The phase and report tabs (once composed)."""
        assert self._tabs is not None, "asked for the tabs before the screen was composed"
        return self._tabs

    @property
    def item_lists(self) -> list[ItemList]:
        """The item lists of the phase tabs built so far."""
        return [pane.item_list for pane in self._panes.values()]

    def _active_tab(self) -> str | None:
        """The active tab's id; None before the screen is composed (the footer asks about
        its keys from idle callbacks, also while the screen is built or taken down)."""
        return self._tabs.active if self._tabs is not None else None

    def built_pane_of(self, item: Item) -> PhasePane | None:
        """The tab content holding ``item``, once built (None before, or once taken down)."""
        found = self._panes.get(pane_id(self.checklist.phase_of(item)))
        return found if found is not None and found.is_attached else None

    def _phase_pane(self) -> PhasePane | None:
        return self._panes.get(self._active_tab() or "")

    @property
    def current_phase(self) -> Phase | None:
        """The phase of the active tab (None on the Deployment Log and Messages tabs)."""
        active = self._active_tab()
        return next((p for p in self.checklist.phases if pane_id(p) == active), None)

    @property
    def current_list(self) -> ItemList | None:
        """The item list of the active tab."""
        phase_pane = self._phase_pane()
        return phase_pane.item_list if phase_pane is not None else None

    async def _ensure_phase_pane(self, pane: TabPage) -> PhasePane | None:
        """Build a phase tab's content the first time it is shown."""
        found = pane.query(PhasePane)
        if found:
            return found.first()
        phase = next((p for p in self.checklist.phases if pane_id(p) == pane.id), None)
        if phase is None:
            return None
        phase_pane = PhasePane(phase, self.ctx)
        await pane.mount(phase_pane)  # its on_mount fills it (phase_pane_mounted)
        return phase_pane

    def _filter_shown(self) -> bool:
        return self._filter_box is not None and self._filter_box.display

    def _filter_text(self) -> str:
        return self._filter_box.value.strip() if self._filter_box is not None else ""

    @property
    def current_item(self) -> Item | None:
        """The highlighted item of the active tab."""
        item_list = self.current_list
        qid = item_list.highlighted_qid if item_list is not None else None
        return self.checklist.find_item(qid) if qid else None

    # ---------------------------------------------------------------- events
    @on(PhaseTabs.TabActivated)
    async def _tab_changed(self, event: PhaseTabs.TabActivated) -> None:
        tabbed = self.tabs
        if event.pane.id != tabbed.active:
            return  # a burst of left/right moved on already: the newer activation builds its tab
        self.set_focus(None)  # nothing keeps the focus in the tab left behind
        await self._ensure_phase_pane(event.pane)
        if event.pane.id != tabbed.active:
            return  # moved on while the tab was built
        item_list = self.current_list
        if item_list is not None:
            self.set_focus(item_list)  # now: the next key of a burst goes to this tab's list
        else:
            await self._mount_report_view(event.pane)
        self._update_detail()
        self.refresh_bindings()

    @on(ItemList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._update_detail()
        self.refresh_bindings()

    @on(ItemList.OptionSelected)
    def _selected(self) -> None:
        phase_pane = self._phase_pane()
        if phase_pane is not None:
            phase_pane.detail.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        for item_list in self.item_lists:
            item_list.rebuild(self.state, event.value.strip())
        self._update_detail()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        if self.current_list is not None:
            self.set_focus(self.current_list)  # now: the next key of a burst acts on the list

    # ---------------------------------------------------------------- recording
    def record(self, kind: str, item: str | None = None, **data: Any) -> bool:
        """Record one event durably, then re-render from the session; False when refused."""
        if self.session.read_only:
            self.notify(READ_ONLY, severity="warning")
            return False
        try:
            self.session.record(kind, item=item, **data)
        except (RsdeployError, OSError) as error:
            self._not_recorded(error)
            return False
        self._recorded()
        return True

    async def record_async(self, kind: str, item: str | None = None, **data: Any) -> bool:
        """As ``record``, with the append and its fsync in a thread, together with the other
        results landing meanwhile: for what the app records by itself (check results), so keys
        go on being handled while the disk catches up. The screen still shows the event only
        once it is durable."""
        if self.session.read_only:
            self.notify(READ_ONLY, severity="warning")
            return False
        self._recording += 1
        try:  # with the results landing meanwhile, in one write (ui/recording.py)
            await self._batched.record(kind, item, data)
        except (RsdeployError, OSError) as error:
            self._not_recorded(error)
            return False
        finally:
            self._recording -= 1
        self._recorded(batched=True)
        return True

    def _tell_warnings(self) -> None:
        """Show the session's warnings not shown yet: an event was recorded with a warning,
        e.g. ``session.json`` could not be written (that one comes from the snapshot thread,
        after ``record`` returned: ``Session.on_warning`` calls this then)."""
        if not self.is_attached:
            return
        for warning in self.session.warnings[self._warnings_shown:]:
            self.notify(warning, title="Recorded, with a warning", severity="warning", timeout=10)
        self._warnings_shown = len(self.session.warnings)

    def _not_recorded(self, error: RsdeployError | OSError) -> None:
        if isinstance(error, RsdeployError):
            self.notify(error.message, title=error.title, severity="error", timeout=10)
        else:  # not durable means not done: say so loudly rather than pretend
            self.notify(f"Could not save to the session store: {error}", title="Not saved",
                        severity="error", timeout=15)

    def _recorded(self, batched: bool = False) -> None:
        """Show what was recorded (and the warnings that came with it), from the session.

        ``batched`` (check results): while other checks are still running or their results
        are still being written, the re-render waits up to ``RENDER_BATCH_S`` to take in the
        results landing meanwhile (their list lines are painted at once by the check
        controller); the last result renders at once.
        """
        self._tell_warnings()
        self.state = self.session.state(self.checklist)
        self.ctx.resolve(self.session)  # a fact or a value set changes what ${name} expands to
        if batched and (self.checking.running_count or self._recording):
            if self._render_due is None:
                self._render_due = self.set_timer(RENDER_BATCH_S, self.render_state)
            return
        self.render_state()

    def action_set_value(self) -> None:
        """Set a value the item lacks (ui/screens/set_value.py)."""
        from rsdeploy_tui.ui.screens.set_value import open_set_value

        open_set_value(self)

    def action_values(self) -> None:
        """Every value with its source; set one."""
        self.action_set_value()

    def action_run(self) -> None:
        """Run the item's command or action (ui/runs.py)."""
        if self.current_item is not None:
            self.runs.run(self.current_item)

    def action_cancel_run(self) -> None:
        """Cancel the item's running command (ui/runs.py)."""
        if self.current_item is not None:
            self.runs.cancel(self.current_item)

    def action_output_full(self) -> None:
        """The shown run's output full screen, or back (ui/runs.py)."""
        self.runs.toggle_full()

    def action_output_wrap(self) -> None:
        """Run output: soft wrap, or one line each with sideways scrolling (ui/runs.py)."""
        self.runs.toggle_wrap()

    def action_check(self) -> None:
        """Run the item's check (ui/checking.py)."""
        self.checking.check_item(self.current_item)

    def action_check_all(self, including_done: bool = False) -> None:
        """Run the checks of the phase's open items (ui/checking.py)."""
        self.checking.check_phase(self.current_phase, including_done)

    def action_check_all_done(self) -> None:
        """``A``: run every check of the phase, re-checking done and skipped items too."""
        self.checking.check_phase(self.current_phase, including_done=True)

    def action_tick_passed(self) -> None:
        """Tick the items whose check passed."""
        self.checking.tick_passed()

    def action_cancel_checks(self) -> None:
        """Cancel the running checks."""
        self.checking.cancel()

    def action_rollback(self) -> None:
        """Start a rollback with a reason, or go to the Rollback phase once started."""
        self.checking.rollback()

    @on(PhaseTabs.TabActivated)
    def _offer_phase_checks(self) -> None:
        self.checking.phase_shown(self.current_phase)

    def action_logs(self) -> None:
        """Show or hide the eb logs pane (ui/runs.py)."""
        self.logs.toggle()

    def action_logs_full(self) -> None:
        """The eb logs pane full screen, or back."""
        self.logs.toggle(full=True)
