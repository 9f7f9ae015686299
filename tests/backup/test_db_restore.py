"""The rollback's database restore, against the throwaway PostgreSQL: the session's backup goes
back in one transaction, and the database as it was just before is kept, whatever happens."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from backup_harness import Deployment

RESTORE = "rollback.restore-db-backup-here"


def damage(pg_db: Any) -> None:
    """What a bad deployment leaves: rows gone, a new table, a changed row."""
    pg_db.run_sql("DELETE FROM repairs WHERE id <= 10")
    pg_db.run_sql("CREATE TABLE new_feature (id serial PRIMARY KEY, note text)")
    pg_db.run_sql("INSERT INTO new_feature (note) VALUES ('written after the backup')")


def tables_in(dump: Path, pg_db: Any) -> str:
    """The table of contents of a custom-format dump."""
    return subprocess.run([pg_db.tool("pg_restore"), "--list", str(dump)], check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.parametrize("backup", ["pre.db-backup", "deploy.db-backup-now"],
                         ids=["custom", "plain"])
def test_the_backup_goes_back_and_the_damaged_data_is_kept(
        deployment: Deployment, pg_db: Any, backup: str) -> None:
    assert deployment.run(backup)[1] == 0
    damage(pg_db)
    assert pg_db.row_counts() != pg_db.seeded_counts

    result, code = deployment.run(RESTORE)
    assert code == 0 and result.ok, result.summary
    assert pg_db.row_counts() == pg_db.seeded_counts  # new_feature is gone, repairs are back
    facts = deployment.facts
    assert facts["db_restore_row_counts"] == pg_db.seeded_counts
    assert facts["db_restored_database"] == pg_db.dbname
    safety = Path(facts["db_restore_safety_dump"])
    assert safety.is_file() and safety.parent == deployment.session.dir / "backups"
    assert "new_feature" in tables_in(safety, pg_db)  # what was there before is not lost
    assert str(safety) in result.summary


def test_a_restore_that_cannot_finish_changes_nothing(
        deployment: Deployment, pg_db: Any) -> None:
    assert deployment.run("pre.db-backup")[1] == 0
    damage(pg_db)
    before = pg_db.row_counts()
    # The application, still connected, in the middle of a transaction on a table.
    app = pg_db.connect()
    app.autocommit = False
    with app.cursor() as cur:
        cur.execute("SELECT * FROM repairs FOR UPDATE")
    try:
        result, code = deployment.run(RESTORE, params={"lock_timeout_s": 1})
    finally:
        app.rollback()
        app.close()
    assert code != 0 and not result.ok
    assert "the database is unchanged" in result.summary
    assert "maintenance mode" in result.summary
    assert "lock held by pid" in result.summary  # who blocked it, to find that session
    assert pg_db.row_counts() == before  # one transaction: nothing half-restored
    assert Path(deployment.facts["db_restore_safety_dump"]).is_file()


def test_without_a_backup_in_the_session_nothing_is_touched(
        deployment: Deployment, pg_db: Any) -> None:
    result, code = deployment.run(RESTORE)
    assert code != 0 and "No backup to restore" in result.summary
    assert pg_db.row_counts() == pg_db.seeded_counts
    assert not list((deployment.session.dir / "backups").glob("before-restore-*"))
