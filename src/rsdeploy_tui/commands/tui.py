"""The default command (the TUI) and ``resume``: pick or open the session, run the app.

Opening rules: ``rsdeploy-tui`` offers to resume an unfinished session of the same checklist
(Resume / Start new / Open read-only); ``rsdeploy-tui resume [ID]`` goes straight in. A session
held by a live process opens read-only with a banner naming the holder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsdeploy_tui.checklist.cache import load_checklist_cached
from rsdeploy_tui.checklist.vars import check_overrides, parse_overrides, resolve_vars
from rsdeploy_tui.errors import RsdeployError, UsageError
from rsdeploy_tui.session import SessionLocked, SessionStore

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Checklist
    from rsdeploy_tui.session import Session


def restored_notice(session: Session, checklist: Checklist) -> str:
    """What a resume restored, and who had the session before."""
    state = session.state(checklist)
    done, total, critical = state.counts(checklist)
    skipped = sum(1 for s in state.items.values() if s.state == "skipped")
    failed = sum(1 for s in state.items.values() if s.state == "failed")
    running = sum(1 for s in state.items.values() if s.state == "running")
    parts = [f"{done}/{total} done"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if failed:
        parts.append(f"{failed} failed")
    if running:
        parts.append(f"{running} running")
    if critical:
        parts.append(f"{critical} critical pending")
    text = f"Restored session {session.id}: " + ", ".join(parts) + "."
    # a cursor event (where the cursor was at quit) is not work done
    earlier = [e for e in session.events
               if e.kind not in ("session_resumed", "lock_taken_over", "cursor")]
    if earlier:
        last = earlier[-1]
        text += (
            f" Last activity: {last.kind} by {last.operator}@{last.host} at {last.at[11:19]} UTC."
        )
    taken = [e for e in session.events[-1:] if e.kind == "lock_taken_over"]
    if taken:
        data = taken[0].data
        text += (
            f" The lock of {data.get('from_user')} on {data.get('from_host')} "
            f"(pid {data.get('from_pid')}) was taken over."
        )
    for warning in session.warnings:
        text += f" {warning}"
    return text


def open_session(
    store: SessionStore,
    session_id: str,
    checklist: Checklist,
    *,
    operator: str | None,
    read_only: bool,
    take_over: bool,
) -> tuple[Session, str]:
    """Open a session for the TUI: locked if possible, else read-only naming the holder.

    A finished or abandoned session opens read-only: it is closed, and resuming it must not
    add ticks (or a resume) after the recorded end.
    """
    status = store.summary(session_id).status
    if status in ("finished", "abandoned") and not read_only:
        session = store.open(session_id, operator=operator, read_only=True)
        return session, (
            f"Session {session_id} is {status}: opened read-only. "
            "Start a new session with `rsdeploy-tui` to deploy again."
        )
    try:
        session = store.open(
            session_id, operator=operator, read_only=read_only, take_over=take_over
        )
    except SessionLocked as locked:
        session = store.open(session_id, operator=operator, read_only=True)
        who = locked.holder.describe() if locked.holder else "another process"
        return session, (
            f"Session {session_id} is in use by {who}: opened read-only. "
            "Use --take-over if that process is gone."
        )
    if session.read_only:  # events set aside after a conflict wait for a decision (#18)
        return session, " ".join([f"Session {session_id} opened read-only.",
                                  *session.warnings])
    notice = restored_notice(session, checklist)
    change = session.checklist_change(checklist)
    if change is not None:
        session.adopt_checklist(checklist)
        notice += " " + change.explain()  # explain() names the change itself
    return session, notice


def _checklist_for(args: argparse.Namespace, store: SessionStore) -> Checklist:
    """The checklist to show: --checklist, else the resumed session's own file, else bundled."""
    if args.checklist:
        return load_checklist_cached(Path(args.checklist))
    if args.command == "resume":
        from rsdeploy_tui.commands.followed import followed_checklist

        summary = store.summary(args.session) if args.session else store.latest(active_only=True)
        if summary is not None and summary.status != "damaged":  # damage: open_session says
            return followed_checklist(summary.id, summary.checklist, summary.checklist_path,
                                      load=load_checklist_cached)
    return load_checklist_cached(None)


def require_terminal() -> None:
    """The runbook reads its keys from a terminal on stdin.

    Without one (a cron job, ``< /dev/null``, a pipe) the app would wait for keys that never
    come, for good. (It draws on stderr, like any Textual app.)

    Raises:
        UsageError: stdin is not a terminal.
    """
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            "Not a terminal",
            "rsdeploy-tui is a full-screen runbook and reads its keys from a terminal, and "
            "stdin is not one. From a script, use `rsdeploy-tui check`, `show`, `report` or "
            "`sessions`.",
        )


def run(args: argparse.Namespace) -> int:
    """Run the TUI; print how to resume on the way out."""
    from rsdeploy_tui.app import make_app

    store = SessionStore()
    checklist = _checklist_for(args, store)
    overrides = parse_overrides(args.overrides)
    check_overrides(checklist, overrides)
    refuse_overrides(checklist, overrides, every=args.command == "resume")
    require_terminal()  # after the errors about the input, before any session is touched
    session: Session | None = None
    # --set at creation goes into the recorded vars; on a resume each one is recorded as a
    # value_set event (not a one-launch override): it stays set on every later resume. This
    # process also keeps them as given: one that holds a secret is recorded masked, and is
    # used (not stored) for this launch only (values.session_values).
    app_kwargs: dict[str, Any] = {"values": overrides}

    if args.command == "resume":
        session_id = args.session
        if not session_id:
            latest = store.latest(active_only=True, checklist_name=checklist.name)
            if latest is None:
                raise RsdeployError(
                    "Nothing to resume",
                    f"There is no unfinished session of '{checklist.name}'. "
                    "Start one with `rsdeploy-tui`.",
                )
            session_id = latest.id
        session, notice = open_session(
            store,
            session_id,
            checklist,
            operator=remembered_operator(store, session_id, args.operator),
            read_only=args.read_only,
            take_over=args.take_over,
        )
        app_kwargs["notice"] = _with_overrides(session, checklist, overrides, notice)
    else:
        operator = args.operator
        offer = store.latest(active_only=True, checklist_name=checklist.name)
        if offer is None:
            session = store.create(
                checklist, vars=resolve_vars(checklist, overrides), operator=operator
            )
            app_kwargs["ask_deployment_info"] = True
        else:

            def choose(choice: str) -> tuple[Session, str | None]:
                if choice == "new":
                    return store.create(
                        checklist, vars=resolve_vars(checklist, overrides), operator=operator
                    ), None
                opened, notice = open_session(
                    store,
                    offer.id,
                    checklist,
                    operator=remembered_operator(store, offer.id, args.operator),
                    read_only=choice == "read_only" or args.read_only,
                    take_over=args.take_over,
                )
                return opened, _with_overrides(opened, checklist, overrides, notice)

            app_kwargs.update(offer=offer, open_choice=choose)

    app = make_app(checklist, session, **app_kwargs)
    if app.ctx.glyphs.ascii:  # this process draws on a terminal that is not UTF-8
        from rsdeploy_tui.ui.glyphs import use_ascii_scrollbars

        use_ascii_scrollbars()
    try:
        app.run()
    finally:
        session = app.session
        if session is not None:
            session.close()
    if app.leaving_keys:  # typed in the same burst as q: the shell's
        from rsdeploy_tui.ui.typeahead import hand_back

        refused = hand_back("".join(app.leaving_keys))
        if refused:
            _say(refused)
    if app.return_code and app.return_code > 128:
        return app.return_code  # SIGHUP/SIGTERM: the terminal is probably gone; say nothing
    if session is not None:
        state = session.state(checklist)
        if state.status == "active":
            _say(f"Session {session.id} is saved. Resume with: {resume_hint(session)}")
    return app.return_code or 0


def refuse_overrides(checklist: Checklist, overrides: dict[str, str], *,
                     every: bool = False) -> None:
    """Refuse a ``--set`` of a secret (environment only) or a built-in, before anything opens;
    with ``every`` (a resume: each one is recorded) also a name that is no var.

    Raises:
        UsageError: naming the first such name and why.
    """
    from rsdeploy_tui.values import BUILTINS, refuse_name

    secrets = {name.upper() for name in checklist.secrets}
    for name in overrides:
        if every or name.upper() in secrets or name in BUILTINS:
            why = refuse_name(checklist, name)
            if why:
                raise UsageError("Bad --set", f"--set {name}=...: {why}")


def resume_hint(session: Session) -> str:
    """The command that resumes ``session`` as the same operator."""
    from rsdeploy_tui.session import default_operator

    hint = f"rsdeploy-tui resume {session.id}"
    operator = getattr(session, "operator", "")
    if operator and operator != default_operator():
        hint += f" --operator {shlex.quote(operator)}"
    return hint


LAUNCH_KINDS = ("session_created", "session_resumed", "lock_taken_over")


def remembered_operator(store: SessionStore, session_id: str, explicit: str | None) -> str | None:
    """``--operator`` when given; else the name this login last used in the session on this
    host (a plain ``resume`` after ``--operator deployer`` stays deployer), else None (the
    login's own name)."""
    if explicit:
        return explicit
    import socket

    from rsdeploy_tui.session import default_operator

    try:
        events = store.open(session_id, read_only=True).events
    except RsdeployError:
        return None  # opening for real says what is wrong
    login, host = default_operator(), socket.gethostname()
    for event in reversed(events):
        if event.kind in LAUNCH_KINDS and event.data.get("login") == login and \
                event.host == host:
            return event.operator or None
    return None


def _with_overrides(session: Session, checklist: Checklist, overrides: dict[str, str],
                    notice: str | None) -> str | None:
    """Record a resume's ``--set`` values in the session (they stay set); say what was set."""
    if not overrides:
        return notice
    if session.read_only:
        extra = ("The --set values were not recorded: the session is open read-only "
                 f"({', '.join(sorted(overrides))}).")
    else:
        from rsdeploy_tui.values import record_overrides, refuse_name

        refused = {name: why for name in overrides if (why := refuse_name(checklist, name))}
        wanted = {k: v for k, v in overrides.items() if k not in refused}
        changed = record_overrides(session, checklist, wanted, via="resume --set")
        extra = (f"Recorded --set {', '.join(changed)} in the session (kept on every resume)."
                 if changed else "")
        for name, why in refused.items():
            extra += f" --set {name} was not recorded: {why}"
    return " ".join(part for part in (notice, extra) if part) or None


def _say(text: str) -> None:
    """Print to a terminal that may have gone away (SSH dropped)."""
    try:
        print(text)
        sys.stdout.flush()
    except OSError:
        # Nobody is left to read it; the session is already durable.
        return
