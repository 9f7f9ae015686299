"""The bundled RS Systems checklist encodes the team's reference Markdown checklist completely.

The reference document is read from ``shared/reference/`` beside the repository (CI puts a copy
there); every ``- [ ]`` item must appear in the YAML, in order, in the same phase and section, with
the same text, CRITICAL marker and code block, once the YAML's vars are expanded with their
defaults. The placeholders of the reference (``v1.X.X``, ``Sprint X``) are supplied as overrides.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "checklists" / "rs-systems.yaml"
REFERENCE_NAME = "production-deployment-checklist.md"

# The reference's placeholders, so the expanded YAML reads exactly like the reference.
PLACEHOLDERS = {
    "version": "v1.X.X",
    "sprint": "X",
    "previous_tag": "<previous-commit-or-tag>",
    "previous_version": "<previous-version-label>",
    "rollback_app": "<app_name>",
    "rollback_migration": "<previous_migration_number>",
}

PHASE_OF_HEADING = {
    "Pre-Deployment Phase": "pre",
    "Deployment Phase": "deploy",
    "Post-Deployment Verification": "post",
    "Rollback Procedure": "rollback",
    "Post-Rollback Analysis": "analysis",
    "Communication Plan": "comms",
}


def find_reference() -> Path:
    """The reference checklist beside the clone; skip (or fail under CI) when it is absent."""
    candidates = [
        REPO.parent / "shared" / "reference" / REFERENCE_NAME,
        Path("/work/shared/reference") / REFERENCE_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    if os.environ.get("CI"):
        pytest.fail(f"reference checklist missing under CI (tried {tried})")
    pytest.skip(f"reference checklist not found (tried {tried})")


@dataclass
class RefItem:
    """One ``- [ ]`` line of the reference with its place and code block."""

    phase: str
    section: str
    text: str
    critical: bool
    command: str | None


def parse_reference(text: str) -> list[RefItem]:
    """Items of the reference, read independently of the importer under test."""
    items: list[RefItem] = []
    phase = section = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^(#{2,4}) (.+)$", line)
        if heading:
            if len(heading.group(1)) == 2:
                phase = section = heading.group(2).strip()
            else:
                section = heading.group(2).strip()
        elif line.startswith("```"):
            i += 1
            while not lines[i].startswith("```"):
                i += 1
        box = re.match(r"^- \[ \] (.+)$", line)
        if box:
            body = box.group(1)
            critical = body.startswith("**CRITICAL**: ")
            body = body.removeprefix("**CRITICAL**: ")
            command = None
            if i + 1 < len(lines) and lines[i + 1].strip().startswith("```"):
                i += 2
                block = []
                while not lines[i].strip().startswith("```"):
                    block.append(lines[i])
                    i += 1
                command = "\n".join(block)
            items.append(RefItem(phase, section, body, critical, command))
        i += 1
    return items


def fenced_blocks_under(text: str, heading: str) -> list[str]:
    """The fenced code blocks between ``heading`` and the next heading of any level."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    blocks: list[str] = []
    i = start
    while i < len(lines) and not lines[i].startswith("#"):
        if lines[i].startswith("```"):
            i += 1
            block = []
            while not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            blocks.append("\n".join(block))
        i += 1
    return blocks


def expand(value: str, variables: dict[str, str]) -> str:
    """``${name}`` expansion (recursive, as the loader does); ``$${`` stays a literal ``${``."""
    def one(match: re.Match[str]) -> str:
        return expand(variables[match.group(1)], variables)

    parts = value.split("$${")
    return "${".join(re.sub(r"\$\{([a-z0-9_]+)\}", one, part) for part in parts)


def normalise_command(command: str) -> str:
    """Whitespace-normalised command; the EB environment name the YAML adds to `eb` is ignored."""
    command = re.sub(r"\b(eb [a-z]+) rs-systems-prod\b", r"\1", command)
    command = command.replace(" -e rs-systems-prod", "")
    lines = (" ".join(line.split()) for line in command.strip().splitlines())
    return "\n".join(line for line in lines if line)


@pytest.fixture(scope="module")
def reference_text() -> str:
    return find_reference().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def variables(bundled: dict[str, Any]) -> dict[str, str]:
    return {**bundled["vars"], **PLACEHOLDERS}


def bundled_items(data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(phase id, section title, item mapping) for every item in file order."""
    return [
        (phase["id"], section["title"], item)
        for phase in data["phases"]
        for section in phase["sections"]
        for item in section["items"]
    ]


def test_reference_has_133_items(reference_text: str) -> None:
    items = parse_reference(reference_text)
    assert len(items) == 133
    assert sum(item.command is not None for item in items) == 14
    assert sum(item.critical for item in items) == 4


def test_every_reference_item_is_bundled_in_order(
    reference_text: str, bundled: dict[str, Any], variables: dict[str, str]
) -> None:
    reference = parse_reference(reference_text)
    mine = bundled_items(bundled)
    position = 0
    extras: list[str] = []
    for ref in reference:
        while position < len(mine) and (
            expand(mine[position][2]["text"], variables) != ref.text
        ):
            extras.append(mine[position][2]["id"])
            position += 1
        assert position < len(mine), f"reference item missing (or out of order): {ref.text!r}"
        phase, section, item = mine[position]
        where = f"item {item['id']!r} ({ref.text!r})"
        assert phase == PHASE_OF_HEADING[ref.phase], where
        assert section == ref.section, where
        assert bool(item.get("critical", False)) == ref.critical, where
        if ref.command is not None:
            assert "command" in item, f"{where}: the code block under it is not its command"
            assert normalise_command(expand(item["command"], variables)) == normalise_command(
                ref.command
            ), where
        else:
            assert "command" not in item, f"{where}: has a command the reference does not give"
        position += 1
    extras.extend(entry[2]["id"] for entry in mine[position:])
    # The only items beyond the reference's checkboxes are the numbered rollback steps.
    extra_places = {(p, s) for p, s, item in mine if item["id"] in extras}
    assert {p for p, _ in extra_places} == {"rollback"}
    assert {s for _, s in extra_places} == {
        "1. Immediate Actions", "2. Code Rollback", "3. Database Rollback",
        "4. Media Files Rollback", "5. Verification",
    }
    assert len(mine) - len(extras) == 133


def test_rollback_steps_carry_every_reference_command(
    reference_text: str, bundled: dict[str, Any], variables: dict[str, str]
) -> None:
    rollback = next(p for p in bundled["phases"] if p["id"] == "rollback")
    for heading in ("#### 1. Immediate Actions", "#### 2. Code Rollback",
                    "#### 3. Database Rollback", "#### 4. Media Files Rollback",
                    "#### 5. Verification"):
        section = next(s for s in rollback["sections"] if s["title"] == heading[5:])
        commands = [
            normalise_command(expand(item["command"], variables))
            for item in section["items"]
        ]
        for block in fenced_blocks_under(reference_text, heading):
            for line in normalise_command(block).splitlines():
                assert any(line in c.splitlines() for c in commands), f"{heading}: {line!r}"


def test_destructive_rollback_steps_ask_for_the_environment_name(bundled: dict[str, Any]) -> None:
    items = {item["id"]: item for _, _, item in bundled_items(bundled)}
    for item_id in ("maintenance-mode-on", "redeploy-previous-tag", "restore-previous-eb-version",
                    "restore-db-backup", "migrate-back", "restore-media"):
        assert items[item_id]["confirm"] == "${eb_env}", item_id
    for item_id in ("db-backup-now", "eb-ssh", "restore-db-backup"):
        assert items[item_id]["interactive"] is True, item_id


def test_deployment_waits_for_the_critical_backups(bundled: dict[str, Any]) -> None:
    phases = {p["id"]: p for p in bundled["phases"]}
    items = {f"{p}.{item['id']}": item for p, _, item in bundled_items(bundled)}
    assert phases["deploy"]["gate"] == ["pre.db-backup"]
    assert items["pre.db-backup"]["critical"] is True
    assert set(items["deploy.eb-deploy"]["requires"]) == {
        "deploy.db-backup-now", "deploy.media-backup",
    }
    assert all(items[ref]["critical"] for ref in items["deploy.eb-deploy"]["requires"])


def test_literals_are_vars(bundled: dict[str, Any]) -> None:
    vars_ = bundled["vars"]
    assert vars_["domain"] == "rockstarwindshield.repair"
    assert vars_["eb_env"] == "rs-systems-prod"
    assert vars_["backup_bucket"] == "rs-systems-backups-20250823"
    assert vars_["backup_prefix"] == "emergency"
    assert vars_["base_url"] == "https://${domain}"
    for name in ("domain", "base_url", "http_url", "tls_ca_file", "eb_env", "aws_region",
                 "aws_endpoint_url", "backup_bucket", "backup_prefix", "app_dir", "manage",
                 "version", "sprint"):
        assert name in vars_, name
    for _, _, item in bundled_items(bundled):
        for key in ("text", "command", "help", "confirm"):
            value = item.get(key) or ""
            for literal in ("rockstarwindshield", "rs-systems-prod", "rs-systems-backups",
                            "v1.X.X"):
                assert literal not in value, f"{item['id']}.{key} hard-codes {literal!r}"


def test_rollback_triggers_and_success_criteria(
    reference_text: str, bundled: dict[str, Any]
) -> None:
    section = reference_text.split("### When to Rollback", 1)[1].split("###", 1)[0]
    triggers = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    assert [t["text"] for t in bundled["rollback_triggers"]] == triggers
    assert [t["id"] for t in bundled["rollback_triggers"]] == [
        "critical-functionality", "data-corruption", "security-vulnerability",
        "performance-degradation", "migration-failure", "login-failure",
    ]
    section = reference_text.split("## Success Criteria", 1)[1].split("---", 1)[0]
    criteria = [line[4:] for line in section.splitlines() if line.startswith("- ✅ ")]
    assert [c["text"] for c in bundled["success_criteria"]] == criteria

    known = {f"{p}.{item['id']}" for p, _, item in bundled_items(bundled)}
    trigger_ids = {t["id"] for t in bundled["rollback_triggers"]}
    for criterion in bundled["rollback_triggers"] + bundled["success_criteria"]:
        assert criterion["items"], criterion["id"]
        assert set(criterion["items"]) <= known, criterion["id"]
    raising = {item.get("rollback_trigger") for _, _, item in bundled_items(bundled)}
    assert raising - {None} == trigger_ids
    logins = [item for _, _, item in bundled_items(bundled) if "login works" in item["text"]]
    assert len(logins) == 3
    assert all(item["rollback_trigger"] == "login-failure" for item in logins)


def test_templates_are_verbatim(reference_text: str, bundled: dict[str, Any]) -> None:
    templates = bundled["templates"]
    for heading, template_id in (("### Pre-Deployment Communication", "pre_deployment"),
                                 ("### Post-Deployment Communication", "post_deployment"),
                                 ("### Rollback Communication", "rollback"),
                                 ("## Deployment Log Template", "deployment_log")):
        (block,) = fenced_blocks_under(reference_text, heading)
        template = templates[template_id]
        if template.get("subject"):
            rendered = f"Subject: {template['subject']}\n\n{template['body']}"
        else:
            rendered = template["body"]
        assert rendered.rstrip("\n") == block, template_id


def test_secrets_are_declared(bundled: dict[str, Any]) -> None:
    assert bundled["secrets"] == [
        "DB_PASSWORD", "SECRET_KEY", "ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    ]
