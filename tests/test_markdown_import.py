"""Markdown import: the reference document and hand-written edge cases, through to a valid file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from rsdeploy_tui.checklist import Checklist, load_checklist
from rsdeploy_tui.checklist.markdown import MarkdownImportError, import_markdown, slug, to_yaml
from rsdeploy_tui.checklist.vars import expand
from rsdeploy_tui.cli import main
from test_bundled_checklist import find_reference, normalise_command, parse_reference

REPO = Path(__file__).resolve().parents[1]
ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def items_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for phase in data["phases"] for s in phase["sections"] for item in s["items"]]


def load(data: dict[str, Any], tmp_path: Path) -> Checklist:
    """The YAML the importer writes, read back by the real loader (every problem raises)."""
    path = tmp_path / "imported.yaml"
    text = to_yaml(data)
    assert yaml.safe_load(text) == data
    path.write_text(text, encoding="utf-8")
    return load_checklist(path)


# --- the reference document -------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_text() -> str:
    return find_reference().read_text(encoding="utf-8")


def test_reference_imports_all_133_items_with_their_commands(
    reference_text: str, tmp_path: Path
) -> None:
    data = import_markdown(reference_text)
    imported = items_of(data)
    reference = parse_reference(reference_text)
    assert len(imported) == 133
    assert [item["text"] for item in imported] == [ref.text for ref in reference]
    assert [item.get("critical", False) for item in imported] == [r.critical for r in reference]
    for item, ref in zip(imported, reference, strict=True):
        if ref.command is None:
            assert "command" not in item, item["id"]
        else:
            assert normalise_command(item["command"]) == normalise_command(ref.command)
    # Multi-line blocks are kept whole, line by line.
    backup = next(i for i in imported if i["text"] == "Create immediate database backup")
    assert backup["command"].splitlines() == [
        "eb ssh",
        "pg_dump -h $DB_HOST -U $DB_USER -d $DB_NAME > pre_deployment_backup.sql",
        "aws s3 cp pre_deployment_backup.sql s3://rs-systems-backups-20250823/emergency/",
    ]

    checklist = load(data, tmp_path)
    assert checklist.name == "Production Deployment Checklist"
    assert [p.title for p in checklist.phases] == [
        "Pre-Deployment Phase",
        "Deployment Phase",
        "Post-Deployment Verification",
        "Rollback Procedure",
        "Post-Rollback Analysis",
        "Communication Plan",
    ]
    assert len(checklist.items) == 133
    assert sum(item.command is not None for item in checklist.items) == 14
    portal = checklist.item("landing-page-loads-https")
    section = next(
        s for s in checklist.phase(portal.phase_id).sections if s.id == portal.section_id
    )
    assert section.title == "Core Functionality Tests / Customer Portal"


def test_reference_prose_is_kept_as_help(reference_text: str) -> None:
    data = import_markdown(reference_text)
    phases = {p["title"]: p for p in data["phases"]}
    rollback = phases["Rollback Procedure"]["sections"][0]
    # The itemless rollback steps hand their prose and code to the next section with items.
    assert "Unable to login (any portal)" in rollback["help"]
    assert "eb setenv MAINTENANCE_MODE=true" in rollback["help"]
    assert phases["Post-Rollback Analysis"]["help"] == "If rollback was necessary:"
    # What follows the last item ends up in the description, not lost.
    assert "Success Criteria" in data["description"]
    assert "Development Team Lead" in data["description"]


def test_reference_import_is_stable(reference_text: str) -> None:
    assert to_yaml(import_markdown(reference_text)) == to_yaml(import_markdown(reference_text))


# --- edge cases -------------------------------------------------------------------------------


def test_list_styles_nesting_numbering_and_ticks(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        # Release

        ## Before

        - [ ] Dash item
        * [ ] Star item
        + [x] Plus item, already ticked
        - [ ] Parent item
          - [ ] Nested child
            - [X] Grandchild, ticked
          - a plain bullet under the parent
        1. [ ] First numbered
        2) [x] Second numbered
        10. [ ] Tenth numbered
        - plain bullet, not an item
        - [link](https://example.com) is not a checkbox either
        """)
    )
    assert data["name"] == "Release"
    texts = [item["text"] for item in items_of(data)]
    assert texts == [
        "Dash item",
        "Star item",
        "Plus item, already ticked",
        "Parent item",
        "Nested child",
        "Grandchild, ticked",
        "First numbered",
        "Second numbered",
        "Tenth numbered",
    ]
    load(data, tmp_path)


def test_code_fences_under_items(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## Deploy

        - [ ] Tag it
          ```bash
          git tag -a v1 -m "release"
          git push origin v1
          ```
        - [ ] Tilde fence
          ~~~sh
          echo one
          ~~~
        - [ ] Directly below, not indented
        ```
        eb deploy prod
        ```
        - [ ] Expected JSON
          ```json
          {"status": "healthy"}
          ```
        - [ ] No fence here

        ```bash
        echo this block stands alone after a blank line
        ```
        """)
    )
    items = {item["text"]: item for item in items_of(data)}
    assert items["Tag it"]["command"] == 'git tag -a v1 -m "release"\ngit push origin v1'
    assert items["Tilde fence"]["command"] == "echo one"
    assert items["Directly below, not indented"]["command"] == "eb deploy prod"
    assert "command" not in items["Expected JSON"]
    assert '{"status": "healthy"}' in items["Expected JSON"]["help"]
    assert "command" not in items["No fence here"]
    section = data["phases"][0]["sections"][0]
    assert "echo this block stands alone" in section["help"]
    checklist = load(data, tmp_path)
    assert checklist.item("tag-it").command == 'git tag -a v1 -m "release"\ngit push origin v1'
    assert "command: |" in to_yaml(data)


def test_checkboxes_in_prose_and_code_are_not_items(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## Phase

        A paragraph that mentions - [ ] a box inline, and [ ] another.
        Tick each [x] as you go.

        ```markdown
        - [ ] inside a code block
        ```

        - [ ] The only item
        """)
    )
    assert [item["text"] for item in items_of(data)] == ["The only item"]
    # Prose right under the phase heading (items with no sub-heading) is the phase help.
    assert "- [ ] a box inline" in data["phases"][0]["help"]
    load(data, tmp_path)


def test_task_items_inside_a_block_quote_are_items(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## Phase

        > **Note:** quoted prose stays prose, [ ] even with a box.
        > - [ ] Quoted item
        >> - [x] Twice quoted, ticked
        > - plain quoted bullet

        - [ ] Ordinary item
        """)
    )
    assert [item["text"] for item in items_of(data)] == [
        "Quoted item", "Twice quoted, ticked", "Ordinary item"]
    assert "quoted prose stays prose" in data["phases"][0]["help"]
    load(data, tmp_path)


def test_critical_inline_code_and_links(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## Checks

        - [ ] **CRITICAL**: Back up the `prod` database ([runbook](https://example.com/rb))
        - [ ] **CRITICAL:** Variant with the colon inside
        - [ ] Not critical, mentions **CRITICAL** later
        """)
    )
    first, second, third = items_of(data)
    assert first["critical"] is True
    assert first["text"] == "Back up the `prod` database ([runbook](https://example.com/rb))"
    assert second["critical"] is True
    assert second["text"] == "Variant with the colon inside"
    assert "critical" not in third
    checklist = load(data, tmp_path)
    assert [i.critical for i in checklist.items] == [True, True, False]


def test_headings_without_items_are_dropped_and_their_prose_moves_on(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        # Runbook

        Intro prose for the whole runbook.

        ## Empty phase

        Only words here.

        ## Work

        ### Empty section

        Read this first.

        ### Real section

        Section prose.

        - [ ] Do it

        ### Trailing section

        Words after the last item.
        """)
    )
    assert [p["title"] for p in data["phases"]] == ["Work"]
    assert "Only words here." in data["phases"][0]["help"]
    (section,) = data["phases"][0]["sections"]
    assert section["title"] == "Real section"
    assert section["help"].index("Read this first.") < section["help"].index("Section prose.")
    assert "Intro prose for the whole runbook." in data["description"]
    assert "Words after the last item." in data["description"]
    load(data, tmp_path)


def test_duplicate_texts_get_unique_stable_ids(tmp_path: Path) -> None:
    text = md("""
        ## A
        - [ ] Dashboard displays correctly
        - [ ] Dashboard displays correctly
        ## B
        - [ ] Dashboard displays correctly
        - [ ] Dashboard displays correctly 2
        - [ ] ✅
        - [ ] A very long item text that goes on and on well past forty characters
        """)
    data = import_markdown(text)
    ids = [item["id"] for item in items_of(data)]
    assert ids[:4] == [
        "dashboard-displays-correctly",
        "dashboard-displays-correctly-2",
        "dashboard-displays-correctly-3",
        "dashboard-displays-correctly-2-2",
    ]
    assert ids[4] == "item"
    assert len(set(ids)) == len(ids)
    assert all(ID.match(i) and len(i) <= 40 for i in ids)
    assert import_markdown(text) == data
    load(data, tmp_path)


def test_dollar_brace_text_stays_literal(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## ${PHASE}
        - [ ] Export `${HOME}/backups` and $DB_HOST
          ```
          echo "${HOME}" $DB_HOST
          ```
        """)
    )
    checklist = load(data, tmp_path)
    (item,) = checklist.items
    assert expand(item.text, {}) == "Export `${HOME}/backups` and $DB_HOST"
    assert expand(item.command or "", {}) == 'echo "${HOME}" $DB_HOST'


def test_documents_without_headings_or_with_several_titles(tmp_path: Path) -> None:
    bare = import_markdown("- [ ] Only item\n- [ ] Another\n", name="Bare list")
    assert bare["name"] == "Bare list"
    assert len(items_of(bare)) == 2
    load(bare, tmp_path)

    several = import_markdown(
        md("""
        # One
        - [ ] a
        # Two
        - [ ] b
        """)
    )
    assert [p["title"] for p in several["phases"]] == ["One", "Two"]
    assert several["name"] == "One"

    setext = import_markdown(
        md("""
        Title
        =====

        Phase
        -----
        - [ ] c
        continued on the next line
        """)
    )
    assert setext["name"] == "Title"
    assert [p["title"] for p in setext["phases"]] == ["Phase"]
    assert items_of(setext)[0]["text"] == "c continued on the next line"


def test_nothing_to_import() -> None:
    with pytest.raises(MarkdownImportError, match=r"notes\.md"):
        import_markdown("# Notes\n\nNo boxes [ ] here.\n", source="notes.md")


def test_yaml_is_block_style_with_checklist_key_order() -> None:
    data = {
        "phases": [
            {
                "sections": [
                    {
                        "items": [{"command": "a\nb", "critical": True, "text": "T", "id": "t"}],
                        "title": "S",
                        "id": "s",
                    }
                ],
                "title": "P",
                "id": "p",
            }
        ],
        "name": "N",
    }
    text = to_yaml(data)
    assert yaml.safe_load(text) == data
    assert "{" not in text
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index("- id: t")
    assert lines[start : start + 5] == ["- id: t", "text: T", "critical: true", "command: |-", "a"]
    assert text.index("name:") < text.index("phases:")


def test_slug() -> None:
    assert slug("Customer login works (`https://x.example/app/login/`)") == (
        "customer-login-works-https-x-example-app"
    )
    assert slug("Café crème") == "cafe-creme"
    assert slug("[Docs](https://example.com) updated") == "docs-updated"


# --- the command ------------------------------------------------------------------------------


def test_import_command_writes_a_valid_checklist(
    reference_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "checklist.md"
    source.write_text(reference_text, encoding="utf-8")
    out = tmp_path / "out.yaml"
    assert main(["import", str(source), "-o", str(out), "--name", "Team X deploy"]) == 0
    assert "133 items" in capsys.readouterr().err
    checklist = load_checklist(out)
    assert checklist.name == "Team X deploy"
    assert len(checklist.items) == 133

    assert main(["import", str(source)]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["name"] == "Production Deployment Checklist"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("DIR", "is a directory"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "binary"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\xff\xfe- [ ] x", "not UTF-8"),
        (b"# Notes\n\nJust prose, a [ ] in a sentence.\n", "no checklist items"),
        (b"- [ ] x\n" * 300_000, "too large"),
    ],
)
def test_import_command_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | str | None, expected: str
) -> None:
    path = tmp_path / "input.md"
    if content == "DIR":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    out = tmp_path / "out.yaml"
    assert main(["import", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err
    assert expected in err
    assert "Traceback" not in err
    assert not out.exists()


def test_import_entry_point(reference_text: str, tmp_path: Path) -> None:
    source = tmp_path / "ref.md"
    source.write_text(reference_text, encoding="utf-8")
    out = tmp_path / "ref.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "rsdeploy_tui", "import", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "rsdeploy_tui", "validate", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "133 items" in run.stdout


def test_a_block_quote_after_an_item_is_not_part_of_its_text(tmp_path: Path) -> None:
    data = import_markdown(
        md("""
        ## Phase

        - [ ] Warm the cache
        > Note: the cache may take a while.
        - [ ] Next step
        """)
    )
    assert [item["text"] for item in items_of(data)] == ["Warm the cache", "Next step"]
    load(data, tmp_path)
