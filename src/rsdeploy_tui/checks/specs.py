"""Parameter specs of every check type and built-in action, used to validate checklists at load.

Kept free of heavy imports: the checklist loader reads it. Each spec maps a parameter name to
``Param(types, required)``; ``types`` is a tuple of accepted Python types after YAML loading.
Unknown parameters are load errors (a typo must never silently disable a check).
"""

from __future__ import annotations

from rsdeploy_tui.records import datarecord


@datarecord(frozen=True)
class Param:
    """One parameter of a check or action."""

    types: tuple[type, ...]
    """Accepted YAML value types (``str`` values may contain ``${var}``)."""
    required: bool = False
    """Must be given."""
    help: str = ""
    """What the parameter means, for error messages."""


S = (str,)
I = (int,)  # noqa: E741
N = (int, float)
B = (bool,)
L = (list,)
D = (dict,)

# Common to every check: how long it may take.
COMMON = {"timeout": Param(N, help="seconds before the check gives up")}

V = (bool, str)  # verify: true/false or a CA file path

CHECK_SPECS: dict[str, dict[str, Param]] = {
    "http": {"url": Param(S, True), "method": Param(S), "expect_status": Param((int, list)),
             "expect_json": Param((dict, list, str, int, float, bool)), "expect_text": Param(S),
             "max_seconds": Param(N), "headers": Param(D), "follow_redirects": Param(B),
             "verify": Param(V)},
    "https_redirect": {"url": Param(S, True, "an http:// URL")},
    "security_headers": {"url": Param(S, True), "require": Param(L, help="header names"),
                         "verify": Param(V)},
    "cookies": {"url": Param(S, True), "session_cookie": Param(S, help="default sessionid"),
                "verify": Param(V)},
    "csrf": {"url": Param(S, True, "a form endpoint"), "verify": Param(V)},
    "tls_cert": {"host": Param(S), "port": Param((int, str)), "url": Param(S),
                 "min_days": Param(I), "ca_file": Param(S)},
    "response_time": {"url": Param(S), "urls": Param(L), "baseline": Param(S, help="an item id"),
                      "factor": Param(N), "max_seconds": Param(N), "verify": Param(V)},
    "postgres": {"dsn": Param(S)},
    "row_counts": {"tables": Param(L, True, 'table names, or ["*"] for every table'),
                   "baseline": Param(S, help="an item id"),
                   "dsn": Param(S)},
    "sql": {"query": Param(S, True), "expect": Param(S, help="none or some"),
            "equals": Param((str, int, float)), "dsn": Param(S)},
    "s3_object": {"bucket": Param(S, True), "prefix": Param(S), "min_bytes": Param(I),
                  "max_age_minutes": Param(N)},
    "db_backup": {"bucket": Param(S, help="default ${backup_bucket}"),
                  "prefix": Param(S, help="default ${backup_prefix}/"), "min_bytes": Param(I),
                  "max_age_minutes": Param(N),
                  "verified": Param(B, help="also needs the session's backup_verified fact"),
                  "from_session": Param(B, help="false: ignore this session's backup facts")},
    "eb_health": {"environment": Param(S)},
    "eb_deployed": {"environment": Param(S), "version": Param(S), "polls": Param(I),
                    "interval": Param(N, help="seconds between polls")},
    "cloudwatch_alarms": {"prefix": Param(S), "min_count": Param(I)},
    "log_errors": {"log_group": Param(S, True), "pattern": Param(S), "minutes": Param(N)},
    "eb_env_vars": {"environment": Param(S), "require": Param(L), "equals": Param(D)},
    "env_vars": {"names": Param(L, True)},
    "command": {"run": Param(S, True), "expect_exit": Param(I), "expect_output": Param(S),
                "cwd": Param(S)},
    "test_suite": {"run": Param(S, help="default ${manage} test"), "cwd": Param(S),
                   "min_tests": Param(I, help="tests that must run (default 1)")},
    "django_deploy": {"command": Param(S), "cwd": Param(S),
                      "only": Param(L, help="settings or check ids that decide the verdict")},
    "migrations": {"command": Param(S), "cwd": Param(S), "allow_destructive": Param(B)},
    "secrets_in_repo": {"path": Param(S), "exclude": Param(L, help="glob patterns")},
}

ACTION_SPECS: dict[str, dict[str, Param]] = {
    # Built-in actions (rsdeploy_tui/actions/); kept in sync with those modules by their owner.
    "db_backup": {"format": Param(S, help="custom (default) or plain"),
                  "upload": Param(B, help="upload to S3 after the dump (default true)"),
                  "name": Param(S, help="dump file name stem (default db-backup)"),
                  "keep_free_mb": Param(N, help="MiB of disk the dump never uses (default 256)"),
                  "bucket": Param(S), "prefix": Param(S)},
    "media_backup": {"source": Param(S, True, help="local folder or s3://bucket/prefix"),
                     "dest": Param(S, help="s3://bucket/prefix (default: the session's media/)")},
    "verify_backup": {"key": Param(S), "bucket": Param(S), "format": Param(S)},
    "restore_check": {"scratch_db": Param(S), "maintenance_db": Param(S)},
    "db_restore": {"keep_free_mb": Param(N, help="MiB of disk the safety dump never uses"),
                   "lock_timeout_s": Param(N, help="seconds to wait for a table lock (30)")},
    "capture_version": {"environment": Param(S)},
}
