"""Django checks: ``manage.py check --deploy`` findings and the ``migrate --plan``."""

from __future__ import annotations

import re
from typing import Any

from rsdeploy_tui.checks.local import run_shell
from rsdeploy_tui.checks.registry import CheckContext, CheckError, CheckResult, failed, passed

# security.* ids of `check --deploy` (Django 5.2) -> (setting, what an operator should read).
DEPLOY_FINDINGS: dict[str, tuple[str, str]] = {
    "W001": ("MIDDLEWARE", "SecurityMiddleware missing: HSTS, nosniff and SSL redirect are off"),
    "W002": ("MIDDLEWARE", "XFrameOptionsMiddleware missing: no X-Frame-Options"),
    "W003": ("MIDDLEWARE", "CsrfViewMiddleware missing: no CSRF protection"),
    "W004": ("SECURE_HSTS_SECONDS", "HSTS not enabled"),
    "W005": ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "HSTS does not cover subdomains"),
    "W006": ("SECURE_CONTENT_TYPE_NOSNIFF", "X-Content-Type-Options: nosniff not sent"),
    "W008": ("SECURE_SSL_REDIRECT", "HTTP is not redirected to HTTPS by Django"),
    "W009": ("SECRET_KEY", "SECRET_KEY is weak or the insecure default"),
    "W010": ("SESSION_COOKIE_SECURE", "session cookie not marked Secure"),
    "W011": ("SESSION_COOKIE_SECURE", "session cookie not marked Secure"),
    "W012": ("SESSION_COOKIE_SECURE", "session cookie not marked Secure"),
    "W013": ("SESSION_COOKIE_HTTPONLY", "session cookie not HttpOnly"),
    "W014": ("SESSION_COOKIE_HTTPONLY", "session cookie not HttpOnly"),
    "W015": ("SESSION_COOKIE_HTTPONLY", "session cookie not HttpOnly"),
    "W016": ("CSRF_COOKIE_SECURE", "CSRF cookie not marked Secure"),
    "W018": ("DEBUG", "DEBUG is True in production"),
    "W019": ("X_FRAME_OPTIONS", "X_FRAME_OPTIONS is not DENY"),
    "W020": ("ALLOWED_HOSTS", "ALLOWED_HOSTS is empty"),
    "W021": ("SECURE_HSTS_PRELOAD", "HSTS preload not set"),
    "W022": ("SECURE_REFERRER_POLICY", "no Referrer-Policy"),
    "E023": ("SECURE_REFERRER_POLICY", "invalid Referrer-Policy value"),
    "E024": ("SECURE_CROSS_ORIGIN_OPENER_POLICY", "invalid Cross-Origin-Opener-Policy value"),
    "W025": ("SECRET_KEY_FALLBACKS", "a weak key in SECRET_KEY_FALLBACKS"),
}
# `?: (security.W004) You have not set ...` or `app.Model: (models.E001) ...`
_ISSUE = re.compile(r"^(?P<obj>\S+): \((?P<id>[\w.]+)\) (?P<text>.*)$")


def parse_check_output(output: str) -> list[dict[str, str]]:
    """Every issue line of ``manage.py check`` output as a finding."""
    findings = []
    for line in output.splitlines():
        match = _ISSUE.match(line.strip())
        if not match:
            continue
        check_id = match["id"]
        family, _, code = check_id.partition(".")
        setting, meaning = DEPLOY_FINDINGS.get(code, ("", "")) if family == "security" else (
            "", "")
        findings.append({"id": check_id, "setting": setting,
                         "finding": meaning or match["text"][:200], "object": match["obj"]})
    return findings


async def check_django_deploy(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """``manage.py check --deploy --fail-level WARNING`` passes; findings named per setting.

    ``only`` (settings such as ``DEBUG`` or ids such as ``security.W018``) limits the verdict to
    those findings, so one item ("DEBUG = False") is not failed by another setting's warning.
    """
    manage = ctx.var("manage", "python manage.py")
    command = str(params.get("command") or f"{manage} check --deploy --fail-level WARNING")
    cwd = params.get("cwd") or ctx.var("app_dir") or None
    only = {str(o) for o in params.get("only") or []}
    done = await run_shell(command, ctx, cwd)
    findings = parse_check_output(done.output)
    ran = "System check identified" in done.output
    relevant = [f for f in findings if not only or f["setting"] in only or f["id"] in only
                or f["id"].split(".")[-1] in only]
    evidence: dict[str, Any] = {"command": command, "exit_code": done.exit_code,
                                "findings": relevant, "tail": done.tail()}
    if only:
        evidence.update(only=sorted(only), other_findings=len(findings) - len(relevant))
    if relevant:
        named = [f"{f['setting'] or f['id']}: {f['finding']}" for f in relevant]
        return failed(f"{len(relevant)} issue(s): " + "; ".join(named[:4])
                      + (" …" if len(named) > 4 else ""), **evidence)
    if done.exit_code != 0 and not (only and ran):
        last = done.tail(1)[0] if done.tail(1) else "no output"
        raise CheckError(f"`{command}` exited {done.exit_code}: {last}", **evidence)
    if only:
        return passed(f"no issue for {', '.join(sorted(only))}", **evidence)
    return passed("no deployment issues", **evidence)


# Operation descriptions (Operation.describe()) that can lose or rewrite data.
DESTRUCTIVE = re.compile(
    r"^(Undo |IRREVERSIBLE)|^(Remove field|Delete model|Rename (field|model)|Alter field|"
    r"Raw SQL operation|Remove constraint|Delete|Remove)\b", re.IGNORECASE)


def parse_plan(output: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Migrations and their operations from ``manage.py migrate --plan`` output."""
    migrations: list[str] = []
    operations: list[dict[str, Any]] = []
    started = False
    for raw in output.splitlines():
        if raw.strip() == "Planned operations:":
            started = True
            continue
        if not started or not raw.strip() or "No planned migration operations" in raw:
            continue
        if not raw.startswith((" ", "\t")):
            migrations.append(raw.strip())
        elif migrations:
            text = raw.strip()
            operations.append({"migration": migrations[-1], "operation": text,
                               "destructive": bool(DESTRUCTIVE.search(text))})
    return migrations, operations


async def check_migrations(ctx: CheckContext, params: dict[str, Any]) -> CheckResult:
    """Pending migrations from ``migrate --plan``; fails on destructive ones unless allowed."""
    manage = ctx.var("manage", "python manage.py")
    command = str(params.get("command") or f"{manage} migrate --plan")
    cwd = params.get("cwd") or ctx.var("app_dir") or None
    done = await run_shell(command, ctx, cwd)
    if done.exit_code != 0 or "Planned operations:" not in done.output:
        last = done.tail(1)[0] if done.tail(1) else "no output"
        raise CheckError(f"`{command}` exited {done.exit_code}: {last}",
                         command=command, exit_code=done.exit_code, tail=done.tail())
    migrations, operations = parse_plan(done.output)
    destructive = [op for op in operations if op["destructive"]]
    evidence = {"command": command, "pending": migrations, "operations": operations,
                "destructive": destructive,
                "plan": [line.rstrip() for line in done.output.splitlines() if line.strip()][-200:]}
    if not migrations:
        return passed("no pending migrations", **evidence)
    summary = f"{len(migrations)} pending migration(s), {len(operations)} operation(s)"
    if destructive and not params.get("allow_destructive"):
        names = "; ".join(f"{op['migration']}: {op['operation']}" for op in destructive[:3])
        return failed(f"{summary}, {len(destructive)} destructive: {names}", **evidence)
    return passed(summary + (f", {len(destructive)} destructive (allowed)" if destructive
                             else ", none destructive"), **evidence)
