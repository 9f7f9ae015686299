#!/usr/bin/env python3
"""Fake Django ``manage.py`` printing Django 5.2's real output formats (standard library only).

A home-made double, kept only for what the real project (``tests/support/rs_django``, fixtures
``django_project``/``make_django_project``) cannot show here: output paced line by line
(FAKE_DJANGO_LINE_DELAY, for the live run-output tests), an argv log of every call
(FAKE_DJANGO_LOG), and a project whose pending migrations change without re-copying it. Every
Django-facing check (check --deploy, migrate --plan/--check, makemigrations --check,
showmigrations, test, collectstatic --dry-run, dumpdata) is tested against real Django.

Behaviour is chosen by environment variables (defaults = a healthy project):
    FAKE_DJANGO_MODE        check --deploy: clean | warnings | errors        (default clean)
    FAKE_DJANGO_MIGRATIONS  pending migrations: none | pending              (default none)
    FAKE_DJANGO_STATE       optional JSON file; when set, `migrate` records applied migrations
                            there so a later `migrate --plan` shows none pending
    FAKE_DJANGO_TESTS       test: ok | fail                                  (default ok)
    FAKE_DJANGO_MODEL_CHANGES  makemigrations --check: none | changes        (default none)
    FAKE_DJANGO_LINE_DELAY  seconds to sleep between output lines (streaming tests; default 0)
    FAKE_DJANGO_LOG         optional file; each invocation appends its argv as one JSON line
Unknown sub-commands print Django's "Unknown command" message and exit 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PENDING = [
    ("repairs.0012_repair_status", ["Add field status to repair"]),
    (
        "repairs.0013_technician_workshop",
        ["Add field workshop to technician", "Alter field email on customer"],
    ),
]
APPLIED_APPS = {
    "admin": [
        "0001_initial",
        "0002_logentry_remove_auto_add",
        "0003_logentry_add_action_flag_choices",
    ],
    "auth": ["0001_initial", "0012_alter_user_first_name_max_length"],
    "contenttypes": ["0001_initial", "0002_remove_content_type_name"],
    "repairs": ["0001_initial", "0011_repair_price_cents"],
    "sessions": ["0001_initial"],
}
CHECKS = {
    "W004": (
        "You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site is "
        "served only over SSL, you may want to consider setting a value and enabling HTTP Strict "
        "Transport Security. Be sure to read the documentation first; enabling HSTS carelessly "
        "can cause serious, irreversible problems."
    ),
    "W008": (
        "Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site should be "
        "available over both SSL and non-SSL connections, you may want to either set this "
        "setting True or configure a load balancer or reverse-proxy server to redirect all "
        "connections to HTTPS."
    ),
    "W012": (
        "SESSION_COOKIE_SECURE is not set to True. Using a secure-only session cookie makes it "
        "more difficult for network traffic sniffers to hijack user sessions."
    ),
    "W016": (
        "You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have "
        "not set CSRF_COOKIE_SECURE to True. Using a secure-only CSRF cookie makes it more "
        "difficult for network traffic sniffers to steal the CSRF token."
    ),
    "W018": "You should not have DEBUG set to True in deployment.",
    "E023": (
        "You have set the SECURE_REFERRER_POLICY setting to an invalid value.\n\tHINT: Valid "
        "values are: no-referrer, no-referrer-when-downgrade, origin, origin-when-cross-origin, "
        "same-origin, strict-origin, strict-origin-when-cross-origin, unsafe-url."
    ),
}
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def out(line: str = "", err: bool = False) -> None:
    """Write one line (flushed: a pipe reader sees lines as they come)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(line + "\n")
    stream.flush()
    delay = float(os.environ.get("FAKE_DJANGO_LINE_DELAY") or 0)
    if delay:
        time.sleep(delay)


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    """Value of ``--name VALUE`` or ``--name=VALUE``."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def pending_migrations() -> list[tuple[str, list[str]]]:
    if os.environ.get("FAKE_DJANGO_MIGRATIONS", "none") != "pending":
        return []
    state = os.environ.get("FAKE_DJANGO_STATE")
    applied: set[str] = set()
    if state and Path(state).exists():
        applied = set(json.loads(Path(state).read_text()).get("applied", []))
    return [(name, ops) for name, ops in PENDING if name not in applied]


def record_applied(names: list[str]) -> None:
    state = os.environ.get("FAKE_DJANGO_STATE")
    if not state:
        return
    path = Path(state)
    data = json.loads(path.read_text()) if path.exists() else {}
    data["applied"] = sorted(set(data.get("applied", [])) | set(names))
    path.write_text(json.dumps(data))


def cmd_check(args: list[str]) -> int:
    mode = os.environ.get("FAKE_DJANGO_MODE", "clean")
    deploy = "--deploy" in args
    fail_level = (option(args, "--fail-level", "ERROR") or "ERROR").upper()
    issues: list[str] = []
    if deploy and mode in ("warnings", "errors"):
        issues = ["W004", "W008", "W012", "W016", "W018"]
    if deploy and mode == "errors":
        issues.insert(0, "E023")
    if not issues:
        out("System check identified no issues (0 silenced).")
        return 0
    errors = [i for i in issues if i.startswith("E")]
    warnings = [i for i in issues if i.startswith("W")]
    body = []
    for title, group in (("ERRORS", errors), ("WARNINGS", warnings)):
        if group:
            body += ["", f"{title}:"] + [f"?: (security.{i}) {CHECKS[i]}" for i in sorted(group)]
    count = len(issues)
    footer = f"System check identified {count} issue{'s' if count != 1 else ''} (0 silenced)."
    worst = 40 if errors else 30
    failing = worst >= LEVELS.get(fail_level, 40)
    header = ("SystemCheckError: " if failing else "") + "System check identified some issues:"
    # Django writes the report to stderr when it has issues (and stdout when clean).
    for line in [header, *body, "", footer]:
        out(line, err=True)
    return 1 if failing else 0


def cmd_migrate(args: list[str]) -> int:
    pending = pending_migrations()
    if "--plan" in args:
        out("Planned operations:")
        if not pending:
            out("  No planned migration operations.")
        for name, ops in pending:
            out(name)
            for op in ops:
                out("    " + op)
        return 1 if pending and "--check" in args else 0
    if "--check" in args:
        return 1 if pending else 0
    out("Operations to perform:")
    out("  Apply all migrations: " + ", ".join(sorted(APPLIED_APPS)))
    out("Running migrations:")
    if not pending:
        out("  No migrations to apply.")
    for name, _ops in pending:
        out(f"  Applying {name}... OK")
    record_applied([name for name, _ in pending])
    return 0


def cmd_showmigrations(args: list[str]) -> int:
    pending = {name for name, _ in pending_migrations()}
    all_pending = (
        {name for name, _ in PENDING}
        if os.environ.get("FAKE_DJANGO_MIGRATIONS", "none") == "pending"
        else set()
    )
    for app, names in sorted(APPLIED_APPS.items()):
        out(app)
        for name in names:
            out(f" [X] {name}")
        if app == "repairs":
            for full, _ops in PENDING:
                if full in all_pending:
                    mark = " " if full in pending else "X"
                    out(f" [{mark}] {full.split('.', 1)[1]}")
    return 0


def cmd_test(args: list[str]) -> int:
    failing = os.environ.get("FAKE_DJANGO_TESTS", "ok") == "fail"
    total = 42
    out(f"Found {total} test(s).")
    out("Creating test database for alias 'default'...", err=True)
    out("System check identified no issues (0 silenced).")
    out("." * 20 + ("F" if failing else ".") + "." * (total - 21), err=True)
    if failing:
        out("=" * 70, err=True)
        out(
            "FAIL: test_ready_repair_notifies_customer (repairs.tests.test_status.StatusTests"
            ".test_ready_repair_notifies_customer)",
            err=True,
        )
        out("-" * 70, err=True)
        out("Traceback (most recent call last):", err=True)
        out(
            '  File "/app/repairs/tests/test_status.py", line 48, in '
            "test_ready_repair_notifies_customer",
            err=True,
        )
        out("    self.assertEqual(len(mail.outbox), 1)", err=True)
        out("AssertionError: 0 != 1", err=True)
        out("", err=True)
    out("-" * 70, err=True)
    out(f"Ran {total} tests in 3.412s", err=True)
    out("", err=True)
    out("FAILED (failures=1)" if failing else "OK", err=True)
    out("Destroying test database for alias 'default'...", err=True)
    return 1 if failing else 0


def cmd_makemigrations(args: list[str]) -> int:
    if os.environ.get("FAKE_DJANGO_MODEL_CHANGES", "none") != "changes":
        out("No changes detected")
        return 0
    out("Migrations for 'repairs':")
    out("  repairs/migrations/0014_repair_priority.py")
    out("    + Add field priority to repair")
    return 1 if "--check" in args else 0


def cmd_collectstatic(args: list[str]) -> int:
    dry_run = "--dry-run" in args
    files = [
        "admin/css/base.css",
        "admin/js/core.js",
        "css/site.css",
        "js/repairs.js",
        "img/logo.svg",
    ]
    verb = "Pretending to copy" if dry_run else "Copying"
    for name in files:
        out(f"{verb} '/var/app/current/static/{name}'")
    out("")
    out(f"{len(files)} static files copied to '/var/app/current/staticfiles'.")
    return 0


def cmd_dumpdata(args: list[str]) -> int:
    records = [
        {
            "model": "repairs.technician",
            "pk": 1,
            "fields": {"name": "Technician 1", "workshop": "Porto"},
        },
        {
            "model": "repairs.customer",
            "pk": 1,
            "fields": {"name": "Customer 1", "email": "customer1@example.com"},
        },
        {
            "model": "repairs.repair",
            "pk": 1,
            "fields": {"customer": 1, "technician": 1, "device": "phone", "status": "ready"},
        },
    ]
    indent = option(args, "--indent")
    text = json.dumps(records, indent=int(indent) if indent else None)
    target = option(args, "--output") or option(args, "-o")
    if target:
        Path(target).write_text(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


COMMANDS = {
    "check": cmd_check,
    "migrate": cmd_migrate,
    "showmigrations": cmd_showmigrations,
    "test": cmd_test,
    "makemigrations": cmd_makemigrations,
    "collectstatic": cmd_collectstatic,
    "dumpdata": cmd_dumpdata,
}


def main(argv: list[str]) -> int:
    if log := os.environ.get("FAKE_DJANGO_LOG"):
        with open(log, "a") as fh:
            fh.write(json.dumps(argv) + "\n")
    if not argv:
        out("Type 'manage.py help <subcommand>' for help on a specific subcommand.")
        return 0
    command, args = argv[0], argv[1:]
    handler = COMMANDS.get(command)
    if handler is None:
        out(f"Unknown command: '{command}'", err=True)
        out("Type 'manage.py help' for usage.", err=True)
        return 1
    return handler(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
