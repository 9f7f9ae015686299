"""A database backup never fills the disk: it says the sizes first, refuses to start on a full
disk, and stops (deleting its partial file) before the free space drops under ``keep_free_mb``.

Real parts: the throwaway PostgreSQL (its size is asked with psycopg2) and the real disk of the
session directory; only the mid-dump test swaps pg_dump for a stream of zeros bigger than the
room it is given.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from backup_harness import Deployment

MIB = 1024 * 1024


def test_the_backup_says_the_database_size_beside_the_free_space(
        deployment: Deployment, pg_db: Any) -> None:
    prepared, _ = deployment.start("pre.db-backup")
    result, code = deployment.finish(prepared)
    assert code == 0 and result.ok, result.summary
    log = deployment.log(prepared)
    disk_line = next(line for line in log.splitlines() if line.startswith("disk:"))
    assert "free in" in disk_line and f"{pg_db.dbname} is " in disk_line


def test_a_backup_refuses_to_start_on_a_full_disk(deployment: Deployment) -> None:
    result, code = deployment.run("pre.db-backup", params={"keep_free_mb": 10**12})
    assert code != 0 and not result.ok
    assert "Not enough disk space" in result.summary
    assert "keeps" in result.summary and "free" in result.summary
    assert not list((deployment.session.dir / "backups").iterdir())
    assert "backup_key" not in deployment.facts


def test_a_dump_that_would_fill_the_disk_is_stopped_and_deleted(
        deployment: Deployment, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "pg_dump"
    fake.write_text("#!/bin/sh\nexec head -c 67108864 /dev/zero\n")  # a 64 MiB "dump"
    fake.chmod(0o755)
    backups = deployment.session.dir / "backups"
    backups.mkdir(exist_ok=True)
    # Room for about 8 MiB of it, whatever else the machine is writing.
    keep_free_mb = (shutil.disk_usage(backups).free - 8 * MIB) / MIB
    result, code = deployment.run("pre.db-backup", params={"keep_free_mb": keep_free_mb},
                                  env={"RSDEPLOY_PG_BINDIR": str(bindir)})
    assert code != 0 and not result.ok
    assert "Disk nearly full: backup stopped" in result.summary
    assert "partial dump was deleted" in result.summary
    assert not list(backups.iterdir())  # the space is given back
    assert "backup_key" not in deployment.facts
