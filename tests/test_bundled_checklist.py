"""The bundled RS Systems checklist encodes the team's reference Markdown checklist completely.

The reference document is read from ``shared/reference/`` beside the repository (CI puts a copy
there); every ``- [ ]`` item must appear in the YAML, in order, in the same phase and section, with
the same text, CRITICAL marker and code block, once the YAML's vars are expanded with their
defaults. The placeholders of the reference (``v1.X.X``, ``Sprint X``) are supplied as overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import Checklist, Item, load_checklist
from rsdeploy_tui.checklist.vars import expand, resolve_vars
from support import need

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
    # Facts of this session's backups (filled in by the built-in backup actions).
    "backup_key": "emergency/pre_deployment_backup.sql",
    "backup_file": "pre_deployment_backup.sql",
    "media_backup_prefix": "s3://rs-systems-backups-20250823/emergency/media/",
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
    need("the reference checklist", f"not found (tried {tried})",
         "put a copy of shared/ beside the clone (CI does)")


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


SESSION_DIR = "<session-dir>"


def normalise_command(command: str) -> str:
    """Whitespace-normalised command; the EB environment name the YAML adds to `eb` is ignored.

    So is the session folder in front of a file the reference writes into the working directory:
    the app writes nothing into the operator's Django checkout (#15).
    """
    command = command.replace(f"{SESSION_DIR}/", "")
    command = re.sub(r"\b(eb [a-z]+) rs-systems-prod\b", r"\1", command)
    command = command.replace(" -e rs-systems-prod", "")
    lines = (" ".join(line.split()) for line in command.strip().splitlines())
    return "\n".join(line for line in lines if line)


@pytest.fixture(scope="module")
def reference_text() -> str:
    return find_reference().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    return load_checklist(BUNDLED)


@pytest.fixture(scope="module")
def variables(checklist: Checklist) -> dict[str, str]:
    # session_dir is built in (the session's own folder), not a checklist var
    return {**resolve_vars(checklist, PLACEHOLDERS, config={}), "session_dir": SESSION_DIR}


def test_bundled_checklist_loads_and_is_the_default(checklist: Checklist) -> None:
    assert load_checklist().sha256 == checklist.sha256
    assert checklist.name == "RS Systems production deployment"
    assert [p.id for p in checklist.phases] == [
        "pre",
        "deploy",
        "post",
        "rollback",
        "analysis",
        "comms",
    ]


def test_reference_has_133_items(reference_text: str) -> None:
    items = parse_reference(reference_text)
    assert len(items) == 133
    assert sum(item.command is not None for item in items) == 14
    assert sum(item.critical for item in items) == 4


def test_every_reference_item_is_bundled_in_order(
    reference_text: str, checklist: Checklist, variables: dict[str, str]
) -> None:
    reference = parse_reference(reference_text)
    mine = list(checklist.items)
    position = 0
    extras: list[Item] = []
    for ref in reference:
        while position < len(mine) and expand(mine[position].text, variables) != ref.text:
            extras.append(mine[position])
            position += 1
        assert position < len(mine), f"reference item missing (or out of order): {ref.text!r}"
        item = mine[position]
        where = f"item {item.qid!r} ({ref.text!r})"
        assert item.phase_id == PHASE_OF_HEADING[ref.phase], where
        assert section_title(checklist, item) == ref.section, where
        assert item.critical == ref.critical, where
        if ref.command is not None and item.action is not None:
            # A built-in action replaces the command; the reference block stays in its help.
            assert normalise_command(ref.command) in normalise_command(
                expand(item.help, variables)
            ), f"{where}: an action item must quote the reference command in its help"
        elif ref.command is not None:
            assert item.command is not None, f"{where}: the code block under it is not its command"
            assert normalise_command(expand(item.command, variables)) == normalise_command(
                ref.command
            ), where
        else:
            assert item.command is None, f"{where}: has a command the reference does not give"
        position += 1
    extras.extend(mine[position:])
    # Beyond the reference's checkboxes: the numbered rollback steps and built-in actions.
    added_actions = [item.qid for item in extras if item.action is not None]
    assert added_actions == ["deploy.restore-check", "deploy.capture-version",
                             "rollback.restore-db-backup-here"]
    extras_steps = [item for item in extras if item.action is None]
    assert {item.phase_id for item in extras_steps} == {"rollback"}
    assert {section_title(checklist, item) for item in extras_steps} == {
        "1. Immediate Actions",
        "2. Code Rollback",
        "3. Database Rollback",
        "4. Media Files Rollback",
        "5. Verification",
    }
    assert len(mine) - len(extras) == 133


def section_title(checklist: Checklist, item: Item) -> str:
    phase = checklist.phase(item.phase_id)
    return next(s.title for s in phase.sections if s.id == item.section_id)


def test_rollback_steps_carry_every_reference_command(
    reference_text: str, checklist: Checklist, variables: dict[str, str]
) -> None:
    rollback = checklist.phase("rollback")
    for heading in (
        "#### 1. Immediate Actions",
        "#### 2. Code Rollback",
        "#### 3. Database Rollback",
        "#### 4. Media Files Rollback",
        "#### 5. Verification",
    ):
        section = next(s for s in rollback.sections if s.title == heading[5:])
        commands = [
            normalise_command(expand(item.command or "", variables)) for item in section.items
        ]
        for block in fenced_blocks_under(reference_text, heading):
            for line in normalise_command(block).splitlines():
                assert any(line in c.splitlines() for c in commands), f"{heading}: {line!r}"


def test_destructive_steps_ask_for_the_environment_name(checklist: Checklist) -> None:
    for ref in (
        "maintenance-mode-on",
        "redeploy-previous-tag",
        "restore-previous-eb-version",
        "restore-db-backup",
        "migrate-back",
        "restore-media",
        "eb-deploy",
    ):
        assert checklist.item(ref).confirm == "${eb_env}", ref
    for ref in ("eb-ssh", "restore-db-backup"):
        assert checklist.item(ref).interactive, ref
    # The immediate backup is a built-in action run here, not a shell on the instance.
    assert checklist.item("db-backup-now").action is not None
    # Every `eb ssh` without --command needs the terminal.
    for item in checklist.items:
        if item.command and re.search(r"^\s*eb ssh(?!.*--command)", item.command, re.M):
            assert item.interactive, item.qid


def test_deployment_waits_for_the_critical_backups(checklist: Checklist) -> None:
    assert checklist.phase("deploy").gate == (
        "pre.db-backup", "deploy.db-backup-now", "deploy.media-backup")
    assert checklist.item("pre.db-backup").critical
    deploy = checklist.item("deploy.eb-deploy")
    assert set(deploy.requires) == {"deploy.db-backup-now", "deploy.media-backup"}
    assert all(checklist.item(ref).critical for ref in deploy.requires)
    assert checklist.item("deploy.run-migrations").requires == ("deploy.pre-migration-backup",)


def test_literals_are_vars(checklist: Checklist) -> None:
    defaults = resolve_vars(checklist, {}, config={})
    assert defaults["domain"] == "rockstarwindshield.repair"
    assert defaults["base_url"] == "https://rockstarwindshield.repair"
    assert defaults["http_url"] == "http://rockstarwindshield.repair"
    assert defaults["eb_env"] == "rs-systems-prod"
    assert defaults["backup_bucket"] == "rs-systems-backups-20250823"
    assert defaults["backup_prefix"] == "emergency"
    assert defaults["manage"] == "python manage.py"
    for name in ("tls_ca_file", "aws_region", "aws_endpoint_url", "version", "sprint"):
        assert defaults[name] == "", name
    assert defaults["app_dir"] == "."
    for item in checklist.items:
        for key in ("text", "command", "help", "confirm"):
            value = getattr(item, key) or ""
            for literal in (
                "rockstarwindshield",
                "rs-systems-prod",
                "rs-systems-backups",
                "v1.X.X",
            ):
                assert literal not in value, f"{item.qid}.{key} hard-codes {literal!r}"
    # Another team changes one place: every URL follows base_url.
    moved = resolve_vars(checklist, {"base_url": "https://staging.example"}, config={})
    health = expand(checklist.item("post.health-check").command or "", moved)
    assert health.strip() == "curl https://staging.example/health"


def test_rollback_triggers_and_success_criteria(reference_text: str, checklist: Checklist) -> None:
    section = reference_text.split("### When to Rollback", 1)[1].split("###", 1)[0]
    triggers = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    assert [t.text for t in checklist.rollback_triggers] == triggers
    assert [t.id for t in checklist.rollback_triggers] == [
        "critical-functionality",
        "data-corruption",
        "security-vulnerability",
        "performance-degradation",
        "migration-failure",
        "login-failure",
    ]
    section = reference_text.split("## Success Criteria", 1)[1].split("---", 1)[0]
    criteria = [line[4:] for line in section.splitlines() if line.startswith("- ✅ ")]
    assert [c.text for c in checklist.success_criteria] == criteria

    for criterion in (*checklist.rollback_triggers, *checklist.success_criteria):
        assert criterion.items, criterion.id
        for ref in criterion.items:
            checklist.item(ref)  # KeyError when the criterion names no real item
    raising = {item.rollback_trigger for item in checklist.items} - {None}
    assert raising == {t.id for t in checklist.rollback_triggers}
    for item in checklist.items:
        if item.rollback_trigger:
            trigger = checklist.trigger(item.rollback_trigger)
            assert trigger is not None and item.qid in trigger.items, item.qid
    logins = [item for item in checklist.items if "login works" in item.text]
    assert len(logins) == 3
    assert all(item.rollback_trigger == "login-failure" for item in logins)


def test_templates_are_verbatim(reference_text: str, checklist: Checklist) -> None:
    for heading, template_id in (
        ("### Pre-Deployment Communication", "pre_deployment"),
        ("### Post-Deployment Communication", "post_deployment"),
        ("### Rollback Communication", "rollback"),
        ("## Deployment Log Template", "deployment_log"),
    ):
        (block,) = fenced_blocks_under(reference_text, heading)
        template = checklist.templates[template_id]
        if template.subject:
            rendered = f"Subject: {template.subject}\n\n{template.body}"
        else:
            rendered = template.body
        assert rendered.rstrip("\n") == block, template_id


def test_secrets_are_declared(checklist: Checklist) -> None:
    assert checklist.secrets == (
        "DB_PASSWORD",
        "SECRET_KEY",
        "ADMIN_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    )
