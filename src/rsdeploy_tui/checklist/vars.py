"""``${var}`` expansion.

Syntax in checklist strings:
- ``${name}``: a checklist variable (defaults in the file < the operator's config file < ``--set``).
- ``${env:NAME}``: the environment variable NAME, read at run time.
- ``$${``: a literal ``${``. Plain shell references like ``$DB_HOST`` are left alone.

Secret environment variables (the checklist's ``secrets``) never expand to their value in
anything shown or stored: in ``display`` mode they read ``****``; in ``shell`` mode they become a
shell reference ``${NAME}`` so the value travels only in the process environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from rsdeploy_tui import locations
from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.errors import RsdeployError, UsageError
from rsdeploy_tui.records import datarecord

MASK = "****"
MAX_VALUE_CHARS = 65_536
"""Longest a variable's expanded value may be (a URL, a DSN, a few lines): a ``${v}${v}``
doubling chain is refused with its name instead of eating memory and the journal."""
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_PREFIX = "env:"

Mode = Literal["display", "shell", "value"]


class VarError(RsdeployError):
    """A variable that cannot be resolved (undefined, circular, malformed)."""


def references(text: str) -> list[tuple[str, str]]:
    """The ``${...}`` references in ``text`` as (kind, name); kind is var, env or bad."""
    found: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        inner = match.group(1)
        if inner is None:  # the $${ escape
            continue
        if inner.startswith(_ENV_PREFIX):
            name = inner[len(_ENV_PREFIX) :]
            found.append(("env" if _NAME.match(name) else "bad", inner))
        else:
            found.append(("var" if _NAME.match(inner) else "bad", inner))
    return found


def expand(
    text: str,
    values: Mapping[str, str],
    *,
    secrets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    mode: Mode = "display",
) -> str:
    """Expand ``${var}`` and ``${env:NAME}`` in ``text``.

    Args:
        text: The string from the checklist.
        values: Resolved variables (see ``resolve_vars``).
        secrets: Environment variable names whose values must not appear in the result.
        environ: The environment (default ``os.environ``).
        mode: ``display`` for the screen and files (secrets masked), ``shell`` for a command
            line (secrets become ``${NAME}`` references), ``value`` for in-memory use only (a
            check's DSN): secrets expand to their value. Never store a ``value`` expansion.

    Unknown variables are left as written (the loader reports them when the file loads).
    """
    env = os.environ if environ is None else environ
    secret_names = set(secrets)

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner is None:
            return "${"
        if inner.startswith(_ENV_PREFIX):
            name = inner[len(_ENV_PREFIX) :]
            if mode == "shell":
                return "${" + name + "}"
            if name in secret_names and mode == "display":
                return MASK
            return env.get(name, "")
        if inner in values:
            # Values may themselves hold ${env:...}; expand those with the same rules.
            return expand(values[inner], values, secrets=secret_names, environ=env, mode=mode)
        return match.group(0)

    return _TOKEN.sub(replace, text)


def expand_params(
    params: Any,
    values: Mapping[str, str],
    *,
    secrets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    mode: Mode = "value",
) -> Any:
    """``expand`` applied to every string inside a check's or action's parameters."""
    if isinstance(params, str):
        return expand(params, values, secrets=secrets, environ=environ, mode=mode)
    if isinstance(params, Mapping):
        return {
            k: expand_params(v, values, secrets=secrets, environ=environ, mode=mode)
            for k, v in params.items()
        }
    if isinstance(params, list | tuple):
        return [
            expand_params(v, values, secrets=secrets, environ=environ, mode=mode) for v in params
        ]
    return params


def parse_overrides(pairs: Iterable[str] | None) -> dict[str, str]:
    """``--set KEY=VALUE`` pairs as a dict (UsageError on a malformed pair)."""
    result: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            raise UsageError(
                "Bad --set value",
                f"'{pair}' is not KEY=VALUE with KEY made of letters, digits and '_'.",
            )
        result[key] = value
    return result


def load_config_vars(checklist_name: str, path: Path | None = None) -> dict[str, str]:
    """Variable overrides from the operator's config file, if there is one.

    The file (``config.yaml`` in the platformdirs config dir) may hold ``vars:`` for every
    checklist and ``checklists: {<checklist name>: {vars: ...}}`` for one.
    """
    path = path or locations.config_file()
    if not path.exists():
        return {}
    from rsdeploy_tui.checklist.lines import LineDict
    from rsdeploy_tui.checklist.yamlread import load_yaml  # PyYAML only when there is a file

    data = load_yaml(path, what="config")
    if not isinstance(data, dict):
        raise VarError("Bad config file", f"{path}, line 1: expected a mapping with 'vars:'.")
    unknown = set(data) - {"vars", "checklists", "store"}  # store: session/shared/url.py
    if unknown:
        key = sorted(unknown)[0]
        line = data.line_of(key) if isinstance(data, LineDict) else 1
        raise VarError(
            "Bad config file",
            f"{path}, line {line}: unknown key '{key}'; expected 'vars', 'checklists' or 'store'.",
        )
    merged: dict[str, str] = {}
    sources = [data.get("vars")]
    per_checklist = data.get("checklists") or {}
    if isinstance(per_checklist, dict) and isinstance(per_checklist.get(checklist_name), dict):
        sources.append(per_checklist[checklist_name].get("vars"))
    for source in sources:
        if source is None:
            continue
        if not isinstance(source, dict):
            line = source.line if hasattr(source, "line") else 1
            raise VarError("Bad config file", f"{path}, line {line}: 'vars' must be a mapping.")
        for key, value in source.items():
            if isinstance(value, (dict, list)):
                line = source.line_of(key) if isinstance(source, LineDict) else 1
                raise VarError(
                    "Bad config file",
                    f"{path}, line {line}: vars.{key} must be text or a number, "
                    f"got a {'mapping' if isinstance(value, dict) else 'list'}.",
                )
            merged[str(key)] = "" if value is None else str(value)
    return merged


# Vars the program itself reads though a checklist need not define them: never typos.
READ_BY_CODE = frozenset({
    "app_dir", "aws_endpoint_url", "aws_region", "backup_bucket", "backup_key", "backup_prefix",
    "contact", "docs_url", "dsn", "db_dsn", "eb_env", "eta", "expected_downtime", "known_issues", "log_source",
    "manage", "next_steps", "notify_webhook_url", "previous_tag", "previous_version",
    "rollback_app", "sprint", "tls_ca_file", "version",
})


def check_overrides(checklist: Checklist, overrides: Mapping[str, str]) -> None:
    """Refuse a ``--set`` that looks like a typo of one of the checklist's vars.

    ``--set bse_url=https://staging...`` would otherwise change nothing and every check would
    go to the default (production) URL. Names the program reads itself, and names not close
    to any defined var (another checklist's, a template's), pass.

    Raises:
        UsageError: the first override that is a near miss, with the var it probably meant.
    """
    import difflib

    defined = set(checklist.vars)
    for key in overrides:
        if key in defined or key in READ_BY_CODE:
            continue
        close = difflib.get_close_matches(key, sorted(defined), n=1, cutoff=0.8)
        if close:
            raise UsageError(
                "Unknown --set variable",
                f"--set {key}=...: {checklist.name} has no var '{key}' (did you mean "
                f"'{close[0]}'?). Nothing was run; fix the name.",
            )


def resolve_vars(
    checklist: Checklist,
    overrides: Mapping[str, str] | None = None,
    *,
    config: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable's final value: file defaults < config file < overrides, fully expanded.

    ``${other}`` references between variables are expanded here; ``${env:...}`` stays in place
    and is read from the environment when the string is used.

    Args:
        checklist: The loaded checklist.
        overrides: ``--set`` values.
        config: Config-file values; None reads the operator's config file.
    """
    layered: dict[str, str] = dict(checklist.vars)
    layered.update(load_config_vars(checklist.name) if config is None else config)
    layered.update(overrides or {})
    return _expand_references(layered, checklist)


def _where(checklist: Checklist) -> str:
    return f"{checklist.path}: " if checklist.path else ""


# ------------------------------------------------------------------------------------------------
# One resolver for every ${name}: where each value comes from, in one order, everywhere.

BUILTIN_VARS = frozenset({"session_dir"})
"""Values rsdeploy-tui provides for every session (``session_dir``: the session's directory, so
a command can write there instead of into the operator's checkout); a checklist may refer to
them without defining them, and they cannot be set."""

OPTIONAL_VARS = frozenset({"tls_ca_file", "aws_region", "aws_endpoint_url"})
"""Vars whose empty value means "the default" (system trust, boto3's chain, real AWS): a
reference to one of them is never "missing"."""

MISSING_OPEN, MISSING_CLOSE = "\u2039", "\u203a"

SOURCE_ORDER = ("checklist", "config", "start", "set", "fact", "this run", "session")
"""Sources from lowest to highest precedence (``set`` and ``fact`` share one rank: the later
recorded event wins). ``lost`` marks a value recorded masked (it held a secret): empty."""


def missing_marker(name: str) -> str:
    """How a value that is not set shows on screen: ``‹previous_tag: not set›``."""
    return f"{MISSING_OPEN}{name}: not set{MISSING_CLOSE}"


@datarecord(frozen=True)
class ValueChange:
    """A value recorded in the session after it started (``value_set`` or ``fact`` event)."""

    name: str
    """The var's name."""
    value: str
    """The new value as recorded."""
    kind: str
    """``set`` (the operator, in the app or with ``resume --set``) or ``fact`` (captured)."""
    by: str = ""
    """Who recorded it."""
    at: str = ""
    """When (UTC ISO-8601)."""
    item: str | None = None
    """The item whose run or check captured a fact."""


@datarecord(frozen=True)
class ValueSource:
    """One name's final value and where it came from."""

    name: str
    """The var's name."""
    value: str
    """The value, ``${other}`` references expanded (``${env:...}`` left in place)."""
    source: str
    """checklist | config | start | set | fact | this run | session | lost."""
    detail: str = ""
    """For a person: who set it and when, which item captured it, what it was before."""


@datarecord
class Resolution:
    """Every ``${name}``'s value for one session, and where each came from."""

    values: dict[str, str]
    """name -> value: what commands, checks, actions, the screen and reports expand with."""
    sources: dict[str, ValueSource]
    """name -> its source record."""

    def missing(self, *texts: str) -> list[str]:
        """Names that ``texts`` refer to and that have no value (optional vars excepted)."""
        needed: dict[str, None] = {}
        for text in texts:
            for kind, name in references(text):
                if kind == "var" and name not in OPTIONAL_VARS and not self.values.get(name):
                    needed[name] = None
        return list(needed)

    def shown(self, names: Iterable[str]) -> dict[str, str]:
        """The values with each name in ``names`` replaced by its visible missing marker."""
        return {**self.values, **{name: missing_marker(name) for name in names}}


def _scalar_text(value: Any) -> str | None:
    """A fact as a var's text (``True`` -> ``true``); None for structures (not text)."""
    if isinstance(value, dict | list | tuple) or value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def resolve_values(
    checklist: Checklist,
    *,
    recorded: Mapping[str, str] | None = None,
    changes: Iterable[ValueChange] = (),
    builtins: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
    masked_as: Callable[[str, str], str] | None = None,
) -> Resolution:
    """Layer every source of values, lowest first, then expand references between vars.

    Order: checklist defaults < config file < values recorded when the session started (its
    ``--set``) < values recorded later in the session (``value_set`` by the operator and
    captured facts: the later event wins; an empty fact never blanks a value) < this run's
    ``overrides`` (headless ``check --set``) < built-ins (``session_dir``).

    Args:
        checklist: The loaded checklist (defaults).
        recorded: The vars the session recorded at its start (already expanded then). Only
            those that differ from today's defaults + config count as "start" values, so a
            default that refers to another var (``base_url: https://${domain}``) follows a
            later change of that var.
        changes: ``value_set`` and ``fact`` events in journal order.
        builtins: Values the program provides (``session_dir``); they cannot be overridden.
        overrides: This run's ``--set`` (not recorded).
        config: Config-file values; None reads the operator's config file.
        masked_as: ``(name, value) -> value as the session would record it``: a recorded
            value that was masked is today's default or config value again when that masks to
            exactly what was recorded (a default DSN with its password).
    """
    config_values = load_config_vars(checklist.name) if config is None else dict(config)
    layered: dict[str, str] = dict(checklist.vars)
    origin: dict[str, ValueSource] = {
        name: ValueSource(name, "", "checklist") for name in checklist.vars}
    for name, value in config_values.items():
        layered[name] = value
        origin[name] = ValueSource(name, "", "config")
    if recorded:
        baseline = resolve_vars(checklist, {}, config=config_values)
        for name, value in recorded.items():
            if value == baseline.get(name):
                continue
            fresh = baseline.get(name, "")
            if MASK in value and fresh and masked_as is not None and \
                    masked_as(name, fresh) == value:
                continue  # masking is for what is written, never for what runs
            if MASK in value:  # session.redact masks with the same text
                # It held a secret when recorded and was masked: running with "****" would be
                # wrong, so it is empty until given again.
                layered[name] = ""
                origin[name] = ValueSource(name, "", "lost", "held a secret, which is never "
                                           "stored; give it again")
                continue
            layered[name] = value
            origin[name] = ValueSource(name, "", "start", "--set when the session started")
    for change in changes:
        value = change.value
        if change.kind == "fact" and not value and layered.get(change.name):
            continue  # a fact recorded empty does not blank a value
        if MASK in value and masked_as is not None:
            # recorded masked (a token, a URL password): a value given this run that masks to
            # exactly this is the one; a default or config value is not (it was set over them),
            # so without it the value is lost until given again
            current = layered.get(change.name, "")
            given = origin.get(change.name) is not None and \
                origin[change.name].source == "start"
            if current and given and masked_as(change.name, current) == value:
                continue
            layered[change.name] = ""
            origin[change.name] = ValueSource(change.name, "", "lost", "held a secret, which "
                                              "is never stored; give it again")
            continue
        before = layered.get(change.name, "")
        layered[change.name] = value
        if change.kind == "fact":
            detail = f"captured by {change.item}" if change.item else (
                f"recorded by {change.by}" if change.by else "recorded")
        else:
            detail = f"set by {change.by}" if change.by else "set"
            detail += f" (was {before!r})" if before != value else ""
        if change.at:
            detail += f" at {change.at[:19].replace('T', ' ')} UTC"
        origin[change.name] = ValueSource(change.name, "", change.kind, detail)
    for name, value in (overrides or {}).items():
        layered[name] = value
        origin[name] = ValueSource(name, "", "this run", "--set on this command line")
    for name, value in (builtins or {}).items():
        layered[name] = value
        origin[name] = ValueSource(name, "", "session", "built in")
    values = _expand_references(layered, checklist)
    sources = {name: ValueSource(name, values[name], src.source, src.detail)
               for name, src in origin.items()}
    return Resolution(values, sources)


def _expand_references(layered: Mapping[str, str], checklist: Checklist) -> dict[str, str]:
    """``${other}`` between vars expanded; ``${env:...}`` kept.

    Raises:
        VarError: a cycle, or a value past ``MAX_VALUE_CHARS`` (a doubling chain).
    """
    resolved: dict[str, str] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> str:
        if name in resolved:
            return resolved[name]
        if name in chain:
            cycle = " -> ".join((*chain, name))
            raise VarError("Circular variable", f"{_where(checklist)}the variables refer to "
                           f"each other: {cycle}. Fix one of them (in the checklist's vars, the "
                           "config file or --set).")

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner is None or inner.startswith(_ENV_PREFIX) or inner not in layered:
                return match.group(0)
            return resolve(inner, (*chain, name))

        value = _TOKEN.sub(replace, layered[name])
        if len(value) > MAX_VALUE_CHARS:
            raise VarError("Variable too large", f"{_where(checklist)}var '{name}' expands to "
                           f"{len(value):,} characters, more than {MAX_VALUE_CHARS:,}; a value "
                           "it uses doubles at each step or is far too long. Nothing was run "
                           "or recorded.")
        resolved[name] = value
        return value

    for name in layered:
        resolve(name, ())
    return resolved


def fact_change(name: str, value: Any, *, by: str = "", at: str = "",
                item: str | None = None) -> ValueChange | None:
    """A ``fact`` event as a value change (None for structured facts: they are not text)."""
    text = _scalar_text(value)
    return None if text is None else ValueChange(name, text, "fact", by, at, item)
