"""A throwaway PostgreSQL cluster on 127.0.0.1 for backup and row-count tests.

Fixtures:
    pg_server (session): a running cluster, ``PostgresServer``.
    pg_db (function): a fresh database seeded with customers/technicians/repairs,
        ``PostgresDatabase`` (same interface, ``dbname`` set to the new database).

The cluster uses the server binaries of the local PostgreSQL install (Debian package
``postgresql-15`` or any ``postgresql-NN``). initdb and pg_ctl refuse to run as root, so under
root the data directory is owned by the ``postgres`` user and the tools run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from support.net import free_port
from support.real_parts import need

PG_USER = "rsdeploy"
# Distinctive so redaction tests can grep for it in files, logs and screens.
PG_PASSWORD = "pg-Secret-7c1d9e"
PG_ADMIN_DB = "postgres"

# Rows seeded by pg_db (tests compare row counts before/after backup and restore).
SEED_ROW_COUNTS: dict[str, int] = {"technicians": 12, "customers": 240, "repairs": 360}


def find_pg_bindir() -> Path | None:
    """Locate the directory holding ``initdb`` and ``pg_ctl``.

    Order: env ``RSDEPLOY_TEST_PG_BINDIR``, ``pg_config --bindir``, the newest
    ``/usr/lib/postgresql/*/bin``, then ``PATH``.
    """
    candidates: list[Path] = []
    if env_dir := os.environ.get("RSDEPLOY_TEST_PG_BINDIR"):
        candidates.append(Path(env_dir))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))

    def version_key(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    candidates += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """Connection facts for the throwaway cluster, plus small helpers."""

    host: str
    """Always 127.0.0.1."""
    port: int
    """TCP port the server listens on."""
    user: str
    """Superuser name (password auth over TCP)."""
    password: str
    """Superuser password (treat as a secret in assertions about redaction)."""
    dbname: str
    """Database this object points at (``postgres`` for the server itself)."""
    bindir: Path
    """Directory of the server's client/server binaries (pg_dump, psql, pg_restore ...)."""
    datadir: Path
    """Cluster data directory (owned by ``postgres`` when tests run as root)."""

    def dsn(self, dbname: str | None = None) -> str:
        """libpq keyword/value connection string (includes the password)."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={dbname or self.dbname}"
        )

    def url(self, dbname: str | None = None) -> str:
        """``postgresql://`` URL (includes the password)."""
        return (
            f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/"
            f"{dbname or self.dbname}"
        )

    def env(self, dbname: str | None = None) -> dict[str, str]:
        """The DB_* variables the deployment checklist reads."""
        return {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": dbname or self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }

    def libpq_env(self, dbname: str | None = None) -> dict[str, str]:
        """The PG* variables libpq tools (pg_dump, psql) read."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": dbname or self.dbname,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
        }

    def tool(self, name: str) -> str:
        """Absolute path of a PostgreSQL binary matching the server version (e.g. pg_dump)."""
        return str(self.bindir / name)

    def connect(self, dbname: str | None = None) -> Any:
        """Open a psycopg2 connection in autocommit mode (caller closes it)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn(dbname), connect_timeout=10)
        conn.autocommit = True
        return conn

    def run_sql(
        self, sql: str, params: Sequence[Any] | None = None, dbname: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement (autocommit) and return its rows ([] if it returns none)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description is not None else []
        finally:
            conn.close()

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its name (random ``t_<hex>`` if not given)."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.run_sql(f'CREATE DATABASE "{name}"', dbname=PG_ADMIN_DB)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting any leftover sessions."""
        self.run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', dbname=PG_ADMIN_DB)

    def for_database(self, name: str) -> PostgresServer:
        """The same server, pointing at database ``name``."""
        return dataclasses.replace(self, dbname=name)

    def row_counts(self, dbname: str | None = None) -> dict[str, int]:
        """Exact row count of every table in schema ``public``."""
        tables = self.run_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
            dbname=dbname,
        )
        return {
            t: int(self.run_sql(f'SELECT count(*) FROM "{t}"', dbname=dbname)[0][0])
            for (t,) in tables
        }


@dataclasses.dataclass(frozen=True)
class PostgresDatabase(PostgresServer):
    """A seeded database on the throwaway server (``dbname`` is the new database)."""

    seeded_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    """Rows per table as seeded: technicians, customers, repairs."""


SEED_SQL = """
CREATE TABLE technicians (
    id serial PRIMARY KEY,
    name text NOT NULL,
    workshop text NOT NULL
);
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
CREATE TABLE repairs (
    id serial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    technician_id integer REFERENCES technicians(id),
    device text NOT NULL,
    status text NOT NULL,
    price_cents integer NOT NULL,
    received_at timestamptz NOT NULL
);
INSERT INTO technicians (name, workshop)
    SELECT 'Technician ' || g, (ARRAY['Lisbon', 'Porto', 'Braga'])[1 + g % 3]
    FROM generate_series(1, {technicians}) AS g;
INSERT INTO customers (name, email, created_at)
    SELECT 'Customer ' || g, 'customer' || g || '@example.com',
           timestamptz '2025-01-01 09:00+00' + g * interval '7 hours'
    FROM generate_series(1, {customers}) AS g;
INSERT INTO repairs (customer_id, technician_id, device, status, price_cents, received_at)
    SELECT 1 + g % {customers}, 1 + g % {technicians},
           (ARRAY['phone', 'laptop', 'tablet', 'console'])[1 + g % 4],
           (ARRAY['received', 'diagnosed', 'in_repair', 'ready', 'delivered'])[1 + g % 5],
           1500 + (g * 37) % 20000,
           timestamptz '2025-02-01 10:00+00' + g * interval '3 hours'
    FROM generate_series(1, {repairs}) AS g;
"""


def seed_repair_shop(server: PostgresServer, dbname: str) -> dict[str, int]:
    """Create and fill customers/technicians/repairs in ``dbname``; return rows per table."""
    server.run_sql(SEED_SQL.format(**SEED_ROW_COUNTS), dbname=dbname)
    return dict(SEED_ROW_COUNTS)


CLUSTER_PREFIX = "rsdeploy-pg-"
OWNER_FILE = "owner-pid"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_orphaned_clusters(bindir: Path) -> None:
    """Stop and delete clusters whose pytest process died without teardown (SIGKILL, OOM).

    Clusters of live test runs (other workers, other helpers' runs) are left alone.
    """
    for base in Path("/tmp").glob(CLUSTER_PREFIX + "*"):
        try:
            pid = int((base / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # being created right now, or not one of ours
        if not _process_alive(pid):
            _Cluster(bindir, base).stop()


class _Cluster:
    """Owns the initdb/pg_ctl lifecycle of one throwaway cluster."""

    def __init__(self, bindir: Path, base: Path | None = None) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if base is None:
            # Under /tmp, not pytest's tmp_path: that is 0700 root-owned, so `postgres` can't
            # enter it.
            base = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX, dir="/tmp"))
            base.chmod(0o755)
            (base / OWNER_FILE).write_text(str(os.getpid()))
        self.base = base
        self.datadir = self.base / "data"
        self.logfile = self.base / "server.log"
        self.port = 0

    def _cmd(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def _run(self, argv: list[str], timeout: float = 60) -> None:
        proc = subprocess.run(
            self._cmd(argv), capture_output=True, text=True, timeout=timeout, cwd=self.base
        )
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-3000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )

    def _give_to_postgres(self, path: Path) -> None:
        if self.as_root:
            shutil.chown(path, user="postgres", group="postgres")

    def init(self) -> None:
        self.datadir.mkdir(mode=0o700)
        pwfile = self.base / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        pwfile.chmod(0o600)
        for path in (self.datadir, pwfile):
            self._give_to_postgres(path)
        # The server log is written by pg_ctl as postgres: create it owned by postgres.
        self.logfile.touch()
        self._give_to_postgres(self.logfile)
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        pwfile.unlink()

    def start(self) -> None:
        """Start on a free port; retries with a new port if another process took it."""
        last_error: RuntimeError | None = None
        for _ in range(3):
            self.port = free_port()
            conf = self.datadir / "postgresql.auto.conf"
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.datadir}'",
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "max_connections": "40",
                "shared_buffers": "16MB",
                "log_min_messages": "warning",
                "timezone": "'UTC'",
            }
            text = "".join(f"{k} = {v}\n" for k, v in settings.items())
            conf.write_text(text)
            self._give_to_postgres(conf)
            try:
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.datadir),
                        "-l",
                        str(self.logfile),
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ],
                    timeout=90,
                )
                return
            except RuntimeError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.datadir),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    timeout=60,
                )
        shutil.rmtree(self.base, ignore_errors=True)


def _require_runnable(bindir: Path | None) -> Path:
    if bindir is None:
        need(
            "PostgreSQL server binaries",
            "initdb and pg_ctl not found (RSDEPLOY_TEST_PG_BINDIR, pg_config, /usr/lib/postgresql)",
            "apt-get install postgresql (or set RSDEPLOY_TEST_PG_BINDIR)",
        )
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            need("the 'postgres' user", "running as root, initdb needs an owner for the cluster",
                 "apt-get install postgresql (creates the user)")
        if shutil.which("runuser") is None:
            need("runuser", "running as root, the cluster runs as 'postgres'",
                 "apt-get install util-linux")
    return bindir


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster on 127.0.0.1 for the whole session (password auth, fsync off)."""
    bindir = _require_runnable(find_pg_bindir())
    remove_orphaned_clusters(bindir)
    cluster = _Cluster(bindir)
    try:
        cluster.init()
        cluster.start()
        yield PostgresServer(
            host="127.0.0.1",
            port=cluster.port,
            user=PG_USER,
            password=PG_PASSWORD,
            dbname=PG_ADMIN_DB,
            bindir=bindir,
            datadir=cluster.datadir,
        )
    finally:
        cluster.stop()


@pytest.fixture
def pg_db(pg_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A fresh database seeded with technicians, customers and repairs; dropped afterwards."""
    name = pg_server.create_database()
    counts = seed_repair_shop(pg_server, name)
    fields = {f.name: getattr(pg_server, f.name) for f in dataclasses.fields(PostgresServer)}
    fields["dbname"] = name
    try:
        yield PostgresDatabase(**fields, seeded_counts=counts)
    finally:
        pg_server.drop_database(name)
