"""What a destructive step acts on, in words: the typed confirmation and the detail panel show it.

"Type rs-systems-prod to confirm" above `$ action db_restore` said nothing about which database
would be overwritten with which dump. These lines name the objects from the session's values and
facts: the database (host/name, from the DB_* environment the action reads), the dump (S3 key,
size, when it was taken, verified or not), the version label a redeploy puts back. No Textual.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rsdeploy_tui.checklist.model import Item

_VERSION = re.compile(r"\beb\s+deploy\b[^\n]*?--(?:version|label)[ =](\S+)")
_EB_DEPLOY = re.compile(r"^\s*(?:\S+=\S*\s+)*eb\s+deploy\b", re.M)
_CHECKOUT = re.compile(r"\bgit\s+checkout\s+(\S+)")
_MIGRATE = re.compile(r"\bmigrate\s+([A-Za-z_]\w*)\s+(\w+)")


def _size(value: Any) -> str:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return "size not recorded"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def database_line(environ: Mapping[str, str]) -> str:
    """The database the DB_* environment points at (the one a restore overwrites)."""
    name = environ.get("DB_NAME") or "(DB_NAME not set)"
    host = environ.get("DB_HOST") or "(DB_HOST not set)"
    port = environ.get("DB_PORT") or "5432"
    user = environ.get("DB_USER")
    return f"Database: {name} on {host}:{port}" + (f" (user {user})" if user else "")


def dump_line(facts: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """This session's dump: S3 key, size, when taken, verified or not."""
    key = str(facts.get("backup_key") or values.get("backup_key") or "")
    if not key:
        return "Dump: none recorded in this session"
    bucket = str(facts.get("backup_bucket") or values.get("backup_bucket") or "")
    where = f"s3://{bucket}/{key}" if bucket else key
    taken = str(facts.get("backup_at") or "time not recorded")
    verified = facts.get("backup_verified")
    if verified is True and facts.get("backup_verified_key") in (None, key):
        proof = "verified (size and SHA-256 match, pg_restore read it)"
    elif verified is False:
        proof = f"verification FAILED: {facts.get('backup_verify_error') or 'see the item'}"
    else:
        proof = "NOT verified yet"
    return (f"Dump: {where} ({_size(facts.get('backup_size'))}, taken {taken[:19]}, "
            f"{proof})")


def acts_on(item: Item, facts: Mapping[str, Any], values: Mapping[str, str], *,
            command: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Lines naming what running ``item`` acts on (empty when there is nothing to name).

    Args:
        item: The item.
        facts: The session's facts.
        values: The session's values (``RunbookContext.values``).
        command: The command as it will run (display text); None for an action.
        environ: The environment the action reads (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    lines: list[str] = []
    if item.action is not None and item.action.type == "db_restore":
        return [database_line(env), dump_line(facts, values),
                "The database as it is now is saved first (backups/before-restore-...)."]
    text = command or ""
    if "backup_key" in (item.command or "") or "backup_file" in (item.command or ""):
        lines += [database_line(env), dump_line(facts, values)]
    if _EB_DEPLOY.search(text):
        where = values.get("eb_env", "") or "(eb_env not set)"
        found = _VERSION.search(text)
        checkout = _CHECKOUT.search(text)
        if found:
            lines.append(f"Redeploys version label {found.group(1)} to {where}")
        elif checkout:
            lines.append(f"Deploys the code of {checkout.group(1)} (git checkout) to {where}")
        else:
            version = values.get("version")
            label = f" (this session's version: {version})" if version else ""
            lines.append(f"Deploys the code in {values.get('app_dir') or '.'} to {where}{label}")
    for app, target in _MIGRATE.findall(text):
        lines.append(f"Migrations of {app} go back to {target}")
    return lines
