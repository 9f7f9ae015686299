"""Backup benchmark (prints figures; not a test).

``db_backup`` (pg_dump streamed through the action with SHA-256, then boto3 multipart upload with
an S3 SHA-256 checksum) beside the plain way — ``pg_dump -f file`` then a plain boto3
``upload_file`` — on the same database, same moto server, same run. Also the peak RSS of the
action process (target: flat, < 150 MB, whatever the dump size). Targets: time <= 1.2x plain.

    PYTHONPATH=src python bench/backup.py [--mb 200] [--format custom|plain] [--rounds 1]

Needs the PostgreSQL server binaries (a throwaway cluster is started, as in the tests) and moto.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from rsdeploy_tui.actions import prepare_action  # noqa: E402
from rsdeploy_tui.checklist import load_checklist  # noqa: E402
from rsdeploy_tui.checklist.vars import resolve_vars  # noqa: E402
from rsdeploy_tui.session import SessionStore  # noqa: E402
from support.postgres import PG_PASSWORD, PG_USER, _Cluster, find_pg_bindir  # noqa: E402

BUCKET = "bench-backups"
PLAIN_UPLOAD = """
import sys, boto3
boto3.client("s3").upload_file(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def _hwm_mib(pid: int) -> float:
    """VmHWM (peak RSS of the process's own memory since exec) in MiB; 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, int, float, float]:
    """Run a child; returns (seconds, exit code, its peak RSS MiB, its children's peak RSS MiB).

    Peak RSS is sampled from /proc (VmHWM) every 20 ms: ``wait4``'s ru_maxrss would report this
    (fat) benchmark process's size, which a forked child inherits until exec.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    own = kids = 0.0
    while proc.poll() is None:
        own = max(own, _hwm_mib(proc.pid))
        for child in _children(proc.pid):
            kids = max(kids, _hwm_mib(child))
        time.sleep(0.02)
    return time.perf_counter() - start, proc.returncode, own, kids


def fill(conn_env: dict[str, str], psql: str, mb: int) -> None:
    """A table of about ``mb`` MiB of poorly compressible text (1 KiB rows)."""
    rows = mb * 1024
    sql = (
        "CREATE TABLE blobs (id bigint PRIMARY KEY, body text NOT NULL);"
        "INSERT INTO blobs SELECT g, string_agg(md5(random()::text), '') FROM "
        f"generate_series(1, {rows}) AS g, generate_series(1, 32) AS p GROUP BY g;"
    )
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], env=conn_env, check=True)
    # The first read of fresh rows writes hint bits: do it now, not in whichever dump runs first.
    subprocess.run([psql, "-q", "-c", "VACUUM (FREEZE, ANALYZE) blobs"], env=conn_env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="database size in MiB (default 50)")
    parser.add_argument("--format", choices=("custom", "plain"), default="custom")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    bindir = find_pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries not found (initdb, pg_ctl)")
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    cluster = _Cluster(bindir)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    work = Path(tempfile.mkdtemp(prefix="rsdeploy-bench-"))
    try:
        cluster.init()
        cluster.start()
        moto.start()
        host, port = moto.get_host_and_port()
        env = dict(os.environ)
        env.update(
            DB_HOST="127.0.0.1",
            DB_PORT=str(cluster.port),
            DB_USER=PG_USER,
            DB_NAME="postgres",
            DB_PASSWORD=PG_PASSWORD,
            PGHOST="127.0.0.1",
            PGPORT=str(cluster.port),
            PGUSER=PG_USER,
            PGPASSWORD=PG_PASSWORD,
            PGDATABASE="postgres",
            RSDEPLOY_PG_BINDIR=str(bindir),
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench-secret",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://{host}:{port}",
            PYTHONPATH=str(ROOT / "src"),
        )
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        print(f"filling a ~{args.mb} MiB table ...", flush=True)
        fill(env, str(bindir / "psql"), args.mb)
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        size = subprocess.run(
            [str(bindir / "psql"), "-Atc", "SELECT pg_database_size('postgres')"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"database size: {int(size) / 2**20:.0f} MiB; format {args.format}")

        checklist = load_checklist()
        values = resolve_vars(checklist, {"backup_bucket": BUCKET}, config={})
        store = SessionStore(root=work / "sessions")
        session = store.create(checklist, vars=values, operator="bench")
        item = checklist.item("pre.db-backup")
        if args.format == "plain":
            item = checklist.item("deploy.db-backup-now")

        fmt_flag = "--format=" + args.format
        print(
            f"{'round':>5} {'plain dump':>11} {'plain upload':>13} {'plain total':>12} "
            f"{'db_backup':>10} {'ratio':>6} {'action RSS':>11} {'dump MiB':>9}"
        )
        for n in range(1, args.rounds + 1):
            dump_file = work / f"plain-{n}.dump"

            def plain_way(n: int = n, dump_file: Path = dump_file) -> tuple[float, ...]:
                t_dump, code, pg_rss, _ = run_measured(
                    [str(bindir / "pg_dump"), fmt_flag, "-f", str(dump_file)], env
                )
                assert code == 0, "pg_dump failed"
                t_up, code, up_rss, _ = run_measured(
                    [sys.executable, "-c", PLAIN_UPLOAD, str(dump_file), BUCKET, f"plain/{n}.dump"],
                    env,
                )
                assert code == 0, "plain upload failed"
                return t_dump, t_up, pg_rss, up_rss

            def action_way(n: int = n) -> tuple[float, ...]:
                prepared = prepare_action(item, session, values, run_id=f"bench-{n}")
                t_action, code, rss, child_rss = run_measured(
                    [sys.executable, "-m", "rsdeploy_tui.actions", str(prepared.spec_path)], env
                )
                assert code == 0, f"db_backup failed; see {prepared.spec_path}"
                return t_action, rss, child_rss

            # Alternate which goes first, so caches favour neither.
            if n % 2:
                t_dump, t_up, pg_rss, up_rss = plain_way()
                t_action, rss, child_rss = action_way()
            else:
                t_action, rss, child_rss = action_way()
                t_dump, t_up, pg_rss, up_rss = plain_way()
            plain = t_dump + t_up
            dump_mb = dump_file.stat().st_size / 2**20
            print(
                f"{n:>5} {t_dump:>10.2f}s {t_up:>12.2f}s {plain:>11.2f}s {t_action:>9.2f}s "
                f"{t_action / plain:>6.2f} {rss:>8.0f} MiB {dump_mb:>9.1f}"
            )
            print(
                f"      peak RSS: plain pg_dump {pg_rss:.0f} MiB, plain upload {up_rss:.0f} MiB, "
                f"the action's pg_dump {child_rss:.0f} MiB"
            )
            dump_file.unlink()
        session.close()
        print("targets: ratio <= 1.2; action RSS < 150 MiB and flat across sizes")
    finally:
        moto.stop()
        cluster.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
