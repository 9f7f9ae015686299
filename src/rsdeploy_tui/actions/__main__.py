"""``python -m rsdeploy_tui.actions SPEC.json``: run one built-in action, write its result.

Exit codes: 0 done, 1 failed (the reason is the last line of output and in the result file),
2 bad spec or unexpected error, 130 cancelled (SIGINT/SIGTERM). The result file is written
atomically just before exiting; a process killed outright leaves none (``describe_interrupted``).
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from rsdeploy_tui.actions import ACTION_TYPES, result_path, write_json_atomic
from rsdeploy_tui.actions.common import ActionFailed, Cancelled, Context, planned_files, say
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.session.redact import Redactor


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Cancelled(signal.Signals(signum).name)


def _write_result(spec: dict[str, Any], data: dict[str, Any]) -> None:
    """Redact (belt and braces: facts never hold secrets) and write atomically."""
    redactor = Redactor(spec.get("secrets") or ())
    path = result_path(Path(spec["run_dir"]), str(spec["run_id"]))
    write_json_atomic(path, redactor.value({"type": spec.get("type"), **data}))


def main(argv: list[str] | None = None) -> int:
    """Run the action described by the spec file in ``argv[0]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m rsdeploy_tui.actions SPEC.json", file=sys.stderr)
        return 2
    try:
        spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        kind = str(spec["type"])
        spec["run_dir"], spec["run_id"], spec["session"]["dir"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"Cannot read the action spec {args[0]}: {exc}", file=sys.stderr)
        return 2
    if kind not in ACTION_TYPES:
        print(f"Unknown action type '{kind}'.", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    ctx: Context | None = None
    try:
        ctx = Context.from_spec(spec)
        module = importlib.import_module(f"rsdeploy_tui.actions.{kind}")
        summary, facts = module.run(ctx)
    except Cancelled as exc:
        kept = [p for p in planned_files(spec) if Path(p).exists()]
        summary = f"Cancelled ({exc}). " + (f"Partial files kept: {', '.join(kept)}." if kept
                                             else "No partial file left.")
        say(summary)
        _write_result(spec, {"ok": False, "cancelled": True, "summary": summary, "facts": {},
                             "files": kept})
        return 130
    except ActionFailed as exc:
        failure_facts = exc.facts
        say(f"FAILED: {exc.title}: {exc.message}")
        _write_result(spec, {"ok": False, "summary": f"{exc.title}: {exc.message}",
                             "facts": failure_facts, "files": ctx.files if ctx else []})
        return 1
    except RsdeployError as exc:
        say(f"FAILED: {exc.title}: {exc.message}")
        _write_result(spec, {"ok": False, "summary": f"{exc.title}: {exc.message}", "facts": {},
                             "files": ctx.files if ctx else []})
        return 1
    except Exception as exc:  # an operator reads this: one sentence, no traceback with locals
        detail = f"{type(exc).__name__}: {exc}"
        say(f"FAILED: unexpected error in action {kind}: {detail}")
        _write_result(spec, {"ok": False, "summary": f"Unexpected error: {detail}", "facts": {},
                             "files": ctx.files if ctx else []})
        return 2
    say(summary)
    _write_result(spec, {"ok": True, "summary": summary, "facts": facts, "files": ctx.files})
    return 0


if __name__ == "__main__":
    sys.exit(main())
