"""Command line: parses arguments and hands each sub-command to its module in ``commands/``.

Heavy modules (Textual, boto3, httpx, psycopg2) are imported only by the sub-command that needs
them, so ``rsdeploy-tui validate`` or ``--version`` start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from rsdeploy_tui import __version__
from rsdeploy_tui.checks import DEFAULT_CONCURRENCY
from rsdeploy_tui.errors import RsdeployError

# sub-command -> module under rsdeploy_tui.commands exposing ``run(args) -> int``
_COMMAND_MODULES = {
    None: "tui",
    "resume": "tui",
    "sessions": "sessions",
    "show": "sessions",
    "finish": "sessions",
    "abandon": "sessions",
    "validate": "validate",
    "import": "importer",
    "check": "check",
    "report": "report",
    "values": "values",
    "conflicts": "conflicts",
}


def _add_common(parser: argparse.ArgumentParser, *, sub: bool, operator: bool = True) -> None:
    """Options accepted both before and after a sub-command name.

    On sub-parsers the defaults are suppressed so they do not overwrite values given before the
    sub-command (``rsdeploy-tui --set a=b resume``).
    """
    default = argparse.SUPPRESS if sub else None
    parser.add_argument(
        "--checklist", metavar="PATH", default=default,
        help="checklist YAML file (default: the bundled RS Systems checklist)",
    )
    if operator:
        parser.add_argument(
            "--operator", metavar="NAME", default=default,
            help="who is operating (default: $SUDO_USER, else $USER)",
        )
    parser.add_argument(
        "--set", metavar="KEY=VALUE", action="append", dest="overrides",
        default=default, help="override a checklist variable (repeatable)",
    )


def _add_store(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    """``--store s3://BUCKET/PREFIX``, before or after the sub-command (#18)."""
    parser.add_argument(
        "--store", metavar="S3_URL", default=argparse.SUPPRESS if sub else None,
        help="shared session store s3://BUCKET/PREFIX (default: $RSDEPLOY_STORE, the config "
             "file's store:, else this machine only)",
    )


def _add_launch_options(parser: argparse.ArgumentParser) -> None:
    """The options of a plain ``rsdeploy-tui`` (the runbook, no sub-command)."""
    _add_common(parser, sub=False)
    _add_store(parser, sub=False)
    parser.add_argument(
        "--take-over", action="store_true",
        help="take over a session locked by another host (recorded)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="open the session without changing anything"
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command-line contract (see DESIGN.md)."""
    parser = argparse.ArgumentParser(
        prog="rsdeploy-tui",
        description="A full-screen terminal runbook for production deployments.",
    )
    parser.add_argument("--version", action="version", version=f"rsdeploy-tui {__version__}")
    _add_launch_options(parser)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = subs.add_parser("resume", help="resume the latest unfinished (or the named) session")
    _add_store(p, sub=True)
    _add_common(p, sub=True)
    p.add_argument("session", nargs="?", help="session id (default: the latest active one)")
    p.add_argument("--take-over", action="store_true", default=argparse.SUPPRESS,
                   help="take over a session locked by another host (recorded)")
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                   help="open the session without changing anything")

    p = subs.add_parser("sessions", help="list sessions, newest first")
    _add_store(p, sub=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = subs.add_parser("show", help="one session's derived state (works while locked)")
    _add_store(p, sub=True)
    p.add_argument("session", nargs="?", help="session id (default: the latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    for name, text in (("finish", "close a session as finished"),
                       ("abandon", "close a session as abandoned")):
        p = subs.add_parser(name, help=text)
        _add_store(p, sub=True)
        p.add_argument("session", nargs="?", help="session id (default: the latest active one)")
        _add_common(p, sub=True)

    p = subs.add_parser("validate", help="load a checklist and print counts or errors")
    p.add_argument("path", nargs="?", help="checklist YAML (default: the bundled one)")
    p.add_argument("--json", action="store_true", help="print the whole loaded checklist as JSON")
    _add_common(p, sub=True, operator=False)  # nobody operates anything here

    p = subs.add_parser("import", help="convert a Markdown checklist to checklist YAML")
    p.add_argument("file", help="Markdown file with - [ ] items")
    p.add_argument("-o", "--output", metavar="OUT.yaml", help="write here (default: stdout)")
    p.add_argument("--name", help="checklist name (default: the first heading)")

    p = subs.add_parser("check", help="run automated checks headless")
    _add_store(p, sub=True)
    _add_common(p, sub=True)
    p.add_argument("--phase", metavar="ID", action="append", help="only this phase (repeatable)")
    p.add_argument("--item", metavar="ID", action="append", help="only this item (repeatable)")
    p.add_argument("--session", metavar="ID", help="record the results in this session")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help=f"checks run at once (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per check (default: each check's own)")

    p = subs.add_parser("report", help="the deployment log of a session")
    _add_store(p, sub=True)
    p.add_argument("session", nargs="?", help="session id (default: the latest)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    _add_common(p, sub=True, operator=False)  # --set after the sub-command too

    p = subs.add_parser("conflicts", help="events set aside after a conflict between machines: "
                        "list them, re-record them or keep the store's journal")
    _add_store(p, sub=True)
    p.add_argument("session", nargs="?", help="session id (default: every session of this "
                   "machine with a side file)")
    p.add_argument("--rerecord", metavar="all|N,N", help="record the set-aside events (all, or "
                   "these numbers) again on top of the store's journal")
    p.add_argument("--keep-store", action="store_true",
                   help="keep the store's journal; the events stay set aside in the file")
    p.add_argument("--file", metavar="NAME", help="which side file (when there are several)")
    p.add_argument("--all", action="store_true", help="list decided side files too")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--take-over", action="store_true", default=argparse.SUPPRESS,
                   help="take over a session held by another live process (recorded)")
    p.add_argument("--operator", metavar="NAME", default=argparse.SUPPRESS,
                   help="who decides (default: $SUDO_USER, else $USER)")

    p = subs.add_parser("values", help="every ${name} of a session: value and where it came from")
    _add_store(p, sub=True)
    p.add_argument("session", nargs="?", help="session id (default: the latest active one)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_common(p, sub=True, operator=False)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, parsed by ``build_parser``.

    The usual launch (no sub-command) is read by a parser of the launch options alone: building
    the whole parser with its sub-commands is ~2 ms of the first frame. Anything that parser
    does not take whole (a sub-command, --help, --version, an abbreviation, an error) is parsed
    again by the whole one, which gives the same result or message as always.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    launch = argparse.ArgumentParser(
        prog="rsdeploy-tui", add_help=False, allow_abbrev=False, exit_on_error=False)
    _add_launch_options(launch)
    try:
        args, rest = launch.parse_known_args(argv)
    except argparse.ArgumentError:
        rest = argv
    if rest:
        return build_parser().parse_args(argv)
    args.command = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rsdeploy-tui`` command; returns the exit status."""
    args = parse_args(argv)
    for name in ("checklist", "operator", "overrides"):
        if not hasattr(args, name):
            setattr(args, name, None)
    args.take_over = getattr(args, "take_over", False)
    args.read_only = getattr(args, "read_only", False)
    from rsdeploy_tui.session.shared import url as shared_url

    shared_url.choose(getattr(args, "store", None))  # read by SessionStore()
    name = _COMMAND_MODULES[args.command]
    if name == "tui":
        # Start-up creates a few hundred thousand objects that live as long as the process
        # (Textual, the checklist, the widgets); the cyclic collector would scan them again and
        # again, ~35 ms of the first frame. The app freezes them and collects again after its
        # first frame (app.py).
        gc.disable()
    try:
        module = importlib.import_module(f"rsdeploy_tui.commands.{name}")
        return int(module.run(args))
    except RsdeployError as error:
        print(f"rsdeploy-tui: {error.title}\n{error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rsdeploy-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `rsdeploy-tui show --json | head` closes our stdout early; that is not an error.
        return 0
    finally:
        gc.enable()  # whatever happened (a no-op once the app did it)
