"""Sub-command module (not implemented yet)."""

from __future__ import annotations

import argparse

from rsdeploy_tui.errors import UsageError


def run(args: argparse.Namespace) -> int:
    raise UsageError("Not implemented yet", f"the '{args.command or 'tui'}' command is not built yet")
