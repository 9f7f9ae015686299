"""Runs of another machine, followed through the shared store (#18).

A run the journal says started but whose files are not on this machine (another machine's
wrapper runs it; its uploader puts meta, output chunks and exit in the store) is followed here:
a poll every ``POLL_S`` in a thread (never on the event loop) copies what the store holds into a
local mirror (``session/shared/run_objects.RunMirror``: the run's own file names), and the
controller's usual ``follow_log`` shows the mirror's log live. The view and the detail say
``running on <host>`` (and ``last output N min ago`` once quiet for a minute) until the exit
record is in the store; then the mirror gets the ``.exit`` and the controller records the end
exactly as for a local run (``RunController._ended``: exit code, failed step, tail). Nothing is
ever shown as ended before the store holds the exit record; damaged objects stop the following
with an error naming the key, the run still shown as running there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.errors import RsdeployError

if TYPE_CHECKING:
    from rsdeploy_tui.session.shared.run_objects import RunMirror
    from rsdeploy_tui.session.state import RunRecord
    from rsdeploy_tui.ui.runs import Followed, RunController

POLL_S = 1.0
"""How often the store is asked for a remote run's new output (a viewer is ~1-2 s behind)."""
QUIET_SHOWN_S = 60.0
"""Quiet this long, a remote run's status says when its machine last sent output."""


def store_of(runs: RunController) -> Any:
    """The session's shared store (None: sessions of this machine only)."""
    return getattr(runs.session, "shared_store", None)


def is_remote(runs: RunController, run: RunRecord) -> bool:
    """A detached run whose files are not this machine's copy of the session: another machine
    runs it (only with a shared store; without one every run is followed as today)."""
    return elsewhere(runs.session, run)


def elsewhere(session: Any, run: RunRecord) -> bool:
    """``is_remote`` for any session (the resume dialog's details too)."""
    if getattr(session, "shared_store", None) is None or not run.log:
        return False
    log = Path(run.log)
    here = Path(session.dir)
    try:
        inside = log.resolve().is_relative_to(here.resolve())
    except OSError:
        inside = False
    return not (inside and (log.parent / f"{run.run}.json").exists())


def mirror_dir(runs: RunController) -> Path:
    """Where copies of other machines' runs go: the holder's session folder (they are part of
    its record), a viewer's cache (a viewer writes nothing into a session)."""
    if not runs.session.read_only:
        return Path(runs.session.dir) / "runs" / "shared"
    from rsdeploy_tui import locations

    return locations.cache_dir() / "shared-runs" / runs.session.id


def mirrored_log(runs: RunController, run: RunRecord) -> Path | None:
    """This machine's copy of a remote run's log, if it has one."""
    path = mirror_dir(runs) / f"{run.run}.log"
    return path if path.exists() else None


def follow(runs: RunController, qid: str, run: RunRecord) -> None:
    """Show a remote run live and record its end once its exit record is in the store."""
    from rsdeploy_tui.session.shared.run_objects import RunMirror
    from rsdeploy_tui.ui.runs import Followed

    store = store_of(runs)
    host = run.host or "another machine"
    mirror = RunMirror(store.bucket, runs.session.id, run.run, mirror_dir(runs))
    try:
        mirror.reset()
    except OSError as error:
        runs.screen.notify(f"Cannot keep a copy of {run.run} in {mirror.directory}: {error}",
                           title="Run output", severity="error", timeout=15)
        return
    followed = Followed(qid, run.run, mirror.directory, run.command, remote=host)
    watch = RemoteWatch(runs, followed, mirror)
    runs.remote[run.run] = watch
    runs.output.open_run(run.run, runs._title(qid, run.command), status=watch.words(),
                         state="running")
    runs.output.reset_lines(run.run, [])
    runs.screen.run_worker(watch.poll_loop(), name=f"remote:{run.run}", group="runs",
                           exit_on_error=False)
    runs._follow(followed, stop=watch.stopped)


class RemoteWatch:
    """Brings one remote run's mirror up to the store, and says where it stands."""

    def __init__(self, runs: RunController, followed: Followed, mirror: RunMirror) -> None:
        self.runs = runs
        self.followed = followed
        self.mirror = mirror
        self.damaged: RsdeployError | None = None
        self.trouble: str | None = None
        """Why the store did not answer the last poll (None when it did)."""
        self.asked = False
        """The store answered at least once."""
        self._shown = ""

    @property
    def host(self) -> str:
        """The machine the run goes on: its meta's word, else its start event's."""
        named = (self.mirror.meta or {}).get("host")
        return named if isinstance(named, str) and named else \
            self.followed.remote or "another machine"

    def stopped(self) -> bool:
        """The mirror is damaged: its follower stops (the run is not recorded as ended)."""
        return self.damaged is not None

    def words(self) -> str:
        """``running on <host>``, with the quiet time and the store's trouble when they apply."""
        text = f"running on {self.host}"
        quiet = self.mirror.quiet_s()
        if quiet is not None and quiet >= QUIET_SHOWN_S:
            text += f" · last output {_ago(quiet)}"
        if self.trouble:
            text += " · shared store not answering"
        elif self.asked and self.mirror.meta is None:
            text += " · nothing of it in the shared store yet"
        return text

    async def poll_loop(self) -> None:
        from rsdeploy_tui.session.shared.run_objects import SharedRunDamaged

        while True:
            try:
                await asyncio.to_thread(self.mirror.poll)
                self.trouble = None
                self.asked = True
            except SharedRunDamaged as error:
                self._damaged(error)
                return
            except RsdeployError as error:  # unreachable or refused now: asked again later
                self.trouble = error.message
            except OSError as error:
                self.trouble = f"the copy in {self.mirror.directory} cannot be written: {error}"
            if self.mirror.complete:
                return  # the follower sees the exit file and records the end
            self._show()
            await asyncio.sleep(POLL_S)

    def _show(self) -> None:
        words = self.words()
        if words != self._shown:
            self._shown = words
            self.runs.output.set_status(self.followed.run_id, words, "running")
            self.runs.screen.render_state()  # the detail panel says it too

    def _damaged(self, error: RsdeployError) -> None:
        self.damaged = error
        run_id = self.followed.run_id
        self.runs.output.set_status(run_id, f"running on {self.host} · output damaged in the "
                                    "store", "unknown")
        self.runs.output.feed(run_id, ["", f"{error.title}: {error.message}"])
        self.runs.screen.notify(error.message, title=error.title, severity="error", timeout=30)


def running_on(runs: RunController, qid: str) -> str | None:
    """For the detail panel: ``<host> · last output ...`` of the item's open remote run."""
    for run in reversed(runs.screen.state.item(qid).runs):
        if run.finished is None and run.run in runs.remote:
            words = runs.remote[run.run].words()
            return words.removeprefix("running on ")
    return None


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h {minutes % 60:02d} min ago"
