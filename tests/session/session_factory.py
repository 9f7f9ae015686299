"""A small checklist built straight from the model dataclasses (the session tests' own factory)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rsdeploy_tui.checklist.model import Checklist, Item, Phase, Section


def make_checklist(path: Path | None = None, *, extra: bool = False, name: str = "Test deploy",
                   secrets: tuple[str, ...] = ("CANARY_SECRET",)) -> Checklist:
    """Two phases, four items (two critical); ``extra`` adds ``post.smoke`` and drops one."""
    pre = [Item("db-backup", "pre", "prep", "Back up the database", critical=True),
           Item("notify", "pre", "prep", "Tell the stakeholders")]
    deploy = [Item("eb-deploy", "deploy", "go", "Run eb deploy", critical=True,
                   command="eb deploy")]
    if extra:
        deploy.append(Item("smoke", "deploy", "go", "Smoke test"))
    else:
        deploy.append(Item("tag", "deploy", "go", "Tag the release"))
    text = f"{name}{extra}".encode()
    if path is not None:
        path.write_bytes(text)
    return Checklist(
        name=name,
        phases=(Phase("pre", "Pre-Deployment", (Section("prep", "Prepare", tuple(pre)),)),
                Phase("deploy", "Deployment", (Section("go", "Deploy", tuple(deploy)),))),
        secrets=secrets, path=path, sha256=hashlib.sha256(text).hexdigest())
