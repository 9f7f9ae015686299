"""What every action shares: its context (spec, params, vars), progress lines, hashing, paths.

Runs inside the action process (``python -m rsdeploy_tui.actions``). Progress goes to stdout,
one line at a time, at most about once a second per stream: the runner writes it to the run log
the app tails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from rsdeploy_tui.checklist.vars import expand_params
from rsdeploy_tui.errors import RsdeployError
from rsdeploy_tui.records import datarecord

CHUNK = 1024 * 1024
"""Read/write chunk for dumps and downloads: large enough to be fast, small enough to stay flat."""
PROGRESS_EVERY_S = 1.0


class ActionFailed(RsdeployError):
    """The action could not do what it promises; the message says why and what to do.

    ``facts`` are still recorded (e.g. ``backup_verified: false`` when verification fails).
    """

    def __init__(self, title: str, message: str, facts: Mapping[str, Any] | None = None) -> None:
        super().__init__(title, message)
        self.facts = dict(facts or {})


class Cancelled(BaseException):
    """SIGINT/SIGTERM arrived (the operator cancelled the run).

    A BaseException, like KeyboardInterrupt, so library code catching Exception (retry loops)
    cannot swallow a cancel.
    """


def human_bytes(size: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def say(line: str) -> None:
    """One line of output for the run log."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Ticker:
    """Prints a progress line at most every ``every`` seconds (and always on ``done``)."""

    def __init__(self, every: float = PROGRESS_EVERY_S) -> None:
        self.every = every
        self._last = 0.0
        self.started = time.monotonic()

    def due(self) -> bool:
        """True when a progress line should be printed now."""
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            return True
        return False

    def rate(self, done: float) -> str:
        """Average throughput so far."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{human_bytes(done / elapsed)}/s"


@datarecord
class Context:
    """An action's inputs, read from its spec file."""

    spec: dict[str, Any]
    """The whole spec (see ``actions.prepare_action``)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Parameters, ``${var}`` and ``${env:...}`` expanded (values only in memory)."""
    vars: dict[str, str] = field(default_factory=dict)
    """Resolved vars with facts merged in."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Session facts known when the action was started."""
    files: list[str] = field(default_factory=list)
    """Files written, for the result."""

    @classmethod
    def from_spec(cls, spec: dict[str, Any], environ: Mapping[str, str] | None = None) -> Context:
        """Build the context, expanding the params now (secrets never went into the spec)."""
        values = {str(k): str(v) for k, v in (spec.get("vars") or {}).items()}
        params = expand_params(
            dict(spec.get("params") or {}),
            values,
            secrets=spec.get("secrets") or (),
            environ=environ,
            mode="value",
        )
        return cls(spec=spec, params=params, vars=values, facts=dict(spec.get("facts") or {}))

    @property
    def session_id(self) -> str:
        """The session's id (names the S3 folder of this session's backups)."""
        return str(self.spec["session"]["id"])

    @property
    def session_dir(self) -> Path:
        """The session directory."""
        return Path(self.spec["session"]["dir"])

    def param(self, name: str, default: str = "") -> str:
        """A string parameter, falling back to ``default`` when absent or empty."""
        value = self.params.get(name)
        return default if value in (None, "") else str(value)

    def var(self, name: str) -> str:
        """A resolved var (empty when unknown)."""
        return self.vars.get(name, "")

    def fact(self, name: str) -> Any:
        """A session fact (None when unknown)."""
        return self.facts.get(name)

    def backups_dir(self) -> Path:
        """``<session dir>/backups`` (created)."""
        path = backups_dir(self.spec)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def bucket_and_prefix(self) -> tuple[str, str]:
        """Backup bucket and this session's key prefix (``<backup_prefix>/<session id>``)."""
        bucket = self.param("bucket", self.var("backup_bucket"))
        prefix = self.param("prefix", self.var("backup_prefix")).strip("/")
        if not bucket:
            raise ActionFailed(
                "No backup bucket",
                "The var backup_bucket is empty; set it with --set backup_bucket=NAME.",
            )
        return bucket, "/".join(p for p in (prefix, self.session_id) if p)


def backups_dir(spec: Mapping[str, Any]) -> Path:
    """Where dumps of this session go."""
    return Path(spec["session"]["dir"]) / "backups"


def stamp(spec: Mapping[str, Any]) -> str:
    """Compact UTC time of the spec's creation (``20261126T021500Z``), for file names."""
    created = str(spec.get("created", ""))
    digits = "".join(ch for ch in created[:19] if ch.isdigit())
    return f"{digits[:8]}T{digits[8:14]}Z" if len(digits) >= 14 else "undated"


def dump_name(spec: Mapping[str, Any]) -> str:
    """File name of the dump a ``db_backup`` spec writes (deterministic, so it can be found).

    ``prepare_action`` fixes it in the spec (``dump_name``), made unique in the session folder.
    """
    if spec.get("dump_name"):
        return str(spec["dump_name"])
    params = spec.get("params") or {}
    base = str(params.get("name") or "db-backup")
    ext = ".sql" if str(params.get("format") or "custom") == "plain" else ".dump"
    return f"{base}-{stamp(spec)}{ext}"


def unique_dump_name(spec: Mapping[str, Any]) -> str:
    """``dump_name`` with ``-2``, ``-3``... added when a dump of that name is already there."""
    folder = backups_dir(spec)
    name = dump_name(spec)
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while (folder / candidate).exists() or (folder / f"{candidate}.part").exists():
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    return candidate


def planned_files(spec: Mapping[str, Any]) -> list[str]:
    """Files an action of ``spec`` may leave behind (complete or ``.part``), absolute paths."""
    kind = spec.get("type")
    if "session" not in spec:
        return []
    folder = backups_dir(spec)
    if kind == "db_backup":
        path = folder / dump_name(spec)
        return [str(path.with_name(path.name + ".part")), str(path)]
    if kind in ("verify_backup", "restore_check"):
        return [str(p) for p in sorted(folder.glob(f"*.{spec.get('run_id')}.part"))]
    if kind == "db_restore":  # its download, and its safety dump of the database as it was
        run_id = spec.get("run_id")
        return [str(p) for p in sorted([*folder.glob(f"*.{run_id}.part"),
                                        *folder.glob(f"before-restore-*-{run_id}.dump*")])]
    return []


class HashingWriter:
    """Writes chunks to a file while computing SHA-256 and counting bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha256 = hashlib.sha256()
        self.size = 0
        # Unbuffered: chunks are large already, and a partial file shows all that arrived.
        self._fh = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        os.chmod(path, 0o600)  # a dump holds customer data

    def write(self, chunk: bytes) -> None:
        """Append one chunk."""
        view = memoryview(chunk)
        while view:  # a raw write may be partial
            view = view[self._fh.write(view) or 0:]
        self.sha256.update(chunk)
        self.size += len(chunk)

    def close(self, sync: bool = True) -> None:
        """Flush, fsync (a backup must be on disk before we call it done) and close."""
        if self._fh.closed:
            return
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())
        self._fh.close()


def file_sha256(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def die_with_parent() -> None:
    """``preexec_fn``: the child gets SIGTERM if this action process dies (Linux).

    A pg_dump left behind by a killed action would hold its database connection (and locks)
    until its next write; this ends it at once.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM
    except (OSError, AttributeError):
        return  # not Linux: the broken pipe ends it on its next write instead


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool: ``$RSDEPLOY_PG_BINDIR/<name>`` when set, else PATH."""
    bindir = os.environ.get("RSDEPLOY_PG_BINDIR")
    if bindir and (Path(bindir) / name).is_file():
        return str(Path(bindir) / name)
    found = shutil.which(name)
    if not found:
        raise ActionFailed(
            f"{name} not found",
            f"{name} is not on PATH. Install the PostgreSQL client (Debian: postgresql-client) "
            "or set RSDEPLOY_PG_BINDIR to the folder holding it.",
        )
    return found


@datarecord(frozen=True)
class Database:
    """Connection settings from DB_HOST/DB_PORT/DB_USER/DB_NAME; the password stays in the env."""

    host: str
    port: str
    user: str
    name: str
    password: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Database:
        """Read the seed's variables; a missing one is an error naming it."""
        env = os.environ if environ is None else environ
        missing = [n for n in ("DB_HOST", "DB_USER", "DB_NAME") if not env.get(n)]
        if missing:
            raise ActionFailed(
                "Database settings missing",
                f"{', '.join(missing)} not set in the environment; export them before starting "
                "rsdeploy-tui (DB_PASSWORD too).",
            )
        return cls(env["DB_HOST"], env.get("DB_PORT") or "5432", env["DB_USER"], env["DB_NAME"],
                   env.get("DB_PASSWORD") or None)

    def args(self, dbname: str | None = None) -> list[str]:
        """libpq command-line options: host, port, user, database; never the password."""
        return ["-h", self.host, "-p", self.port, "-U", self.user, "-d", dbname or self.name,
                "--no-password"]

    def child_env(self) -> dict[str, str]:
        """Environment for pg_dump/psql: the password only as PGPASSWORD."""
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "15")
        return env

    def connect(self, dbname: str | None = None) -> Any:
        """A psycopg2 connection (autocommit); the password passed in memory."""
        import psycopg2

        try:
            conn = psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                    password=self.password, dbname=dbname or self.name,
                                    connect_timeout=15)
        except psycopg2.Error as exc:
            raise ActionFailed("Cannot connect to the database",
                               f"{self.user}@{self.host}:{self.port}/{dbname or self.name}: "
                               f"{str(exc).strip()}") from None
        conn.autocommit = True
        return conn


def s3_client(ctx: Context) -> Any:
    """An S3 client honouring aws_region / aws_endpoint_url vars and AWS_ENDPOINT_URL."""
    from rsdeploy_tui.aws import client

    return client("s3", ctx.vars)


def aws_exceptions() -> tuple[type[BaseException], ...]:
    """What boto3 raises for AWS trouble (botocore errors and boto3's transfer errors)."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, Boto3Error)


def aws_error(exc: BaseException, what: str) -> ActionFailed:
    """A boto3 error as an operator's sentence (never with credentials)."""
    from rsdeploy_tui.aws import describe_error

    # boto3's transfer errors wrap the botocore error that says what happened.
    cause = exc.__cause__ or exc.__context__ if type(exc).__module__.startswith("boto3") else None
    detail = describe_error(cause or exc)
    return ActionFailed(f"{what} failed", detail.rstrip(".") + ".")
