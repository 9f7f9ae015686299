"""The backup items' db_backup checks on what the real db_backup / verify_backup actions did.

pg_dump of the throwaway PostgreSQL, upload to moto's S3, facts recorded in the session: the
checks then prove *that* object (#13.2), as the runbook sees it after each step.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from backup_harness import BUCKET, Deployment

from rsdeploy_tui.checks.registry import CheckContext, CheckResult, run_check


async def check(deployment: Deployment, ref: str) -> CheckResult:
    state = deployment.session.state()
    ctx = CheckContext(vars=deployment.vars, facts=state.facts, environ=dict(os.environ),
                       secrets=deployment.checklist.secrets)
    return await run_check(deployment.checklist.item(ref), ctx)


@pytest.mark.parametrize(("ref", "proof"), [
    ("pre.db-backup", "PGDMP header"),
    ("deploy.db-backup-now", "SQL dump header and completion trailer")])
async def test_the_sessions_backup_proves_the_item_then_verification(
        deployment: Deployment, aws_env: Any, ref: str, proof: str) -> None:
    # A photo under the prefix, before any dump: no database backup yet.
    aws_env.client("s3").put_object(Bucket=BUCKET, Key="emergency/media/photo-1.jpg",
                                    Body=b"\xff\xd8\xff\xe0" + b"\0" * 20_000)
    before = await check(deployment, ref)
    assert before.status == "fail", before.summary
    result, code = deployment.run(ref)
    assert code == 0, result.summary
    key = deployment.facts["backup_key"]
    done = await check(deployment, ref)
    assert done.status == "pass", done.summary
    assert done.evidence["object"] == f"s3://{BUCKET}/{key}"
    assert done.evidence["proof"][0] == proof
    assert done.evidence["proof"][1].startswith("sha256 = backup_sha256 fact")
    assert done.summary.startswith(f"this session's backup {key} (")
    unverified = await check(deployment, "deploy.verify-backup-integrity")
    assert unverified.status == "fail" and "not verified yet" in unverified.summary
    verify, code = deployment.run("deploy.verify-backup-integrity")
    assert code == 0, verify.summary
    verified = await check(deployment, "deploy.verify-backup-integrity")
    assert verified.status == "pass", verified.summary
    assert verified.evidence["proof"][-1].startswith("verified at ")


async def test_a_backup_replaced_in_s3_no_longer_proves_it(deployment: Deployment,
                                                           aws_env: Any) -> None:
    result, code = deployment.run("pre.db-backup")
    assert code == 0, result.summary
    key = deployment.facts["backup_key"]
    body = aws_env.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    flipped = body[:-1] + bytes([body[-1] ^ 0xFF])
    aws_env.client("s3").put_object(Bucket=BUCKET, Key=key, Body=flipped)
    after = await check(deployment, "pre.db-backup")
    assert after.status == "fail", after.summary
    assert "sha256 differs from the backup_sha256 fact" in after.summary
