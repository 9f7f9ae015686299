"""The checklist loader: a valid file loads; every kind of mistake is reported with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rsdeploy_tui.checklist import ChecklistError, load_checklist
from rsdeploy_tui.checklist.yamlread import YamlFileError

GOOD = """\
name: Test deployment
vars:
  domain: example.com
  base_url: https://${domain}
  eb_env: prod
secrets: [DB_PASSWORD]
rollback_triggers:
  - id: login-failure
    text: Unable to login
success_criteria:
  - id: healthy
    text: All health checks passing
    items: [health]
phases:
  - id: pre
    title: Pre-Deployment
    sections:
      - id: db
        title: Database
        items:
          - id: db-backup
            text: Backed up ${domain}
            critical: true
            command: pg_dump -h $DB_HOST > x.sql
            check: {type: s3_object, bucket: b, prefix: p/, max_age_minutes: 60}
  - id: deploy
    title: Deployment
    gate: [db-backup]
    sections:
      - id: steps
        title: Steps
        items:
          - id: go
            text: Deploy
            command: eb deploy ${eb_env}
            confirm: ${eb_env}
            requires: [pre.db-backup]
          - id: health
            text: Health passing
            check: {type: http, url: "${base_url}/health", expect_json: {status: healthy}}
            rollback_trigger: login-failure
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_valid_checklist_loads_into_the_model(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, GOOD))
    assert checklist.name == "Test deployment"
    assert [p.id for p in checklist.phases] == ["pre", "deploy"]
    backup = checklist.item("db-backup")
    assert backup.qid == "pre.db-backup"
    assert backup.critical and backup.command == "pg_dump -h $DB_HOST > x.sql"
    assert backup.check is not None and backup.check.params["max_age_minutes"] == 60
    assert checklist.phase("deploy").gate == ("pre.db-backup",)  # bare ids are qualified
    assert checklist.item("deploy.go").requires == ("pre.db-backup",)
    assert checklist.success_criteria[0].items == ("deploy.health",)
    assert checklist.item("health").rollback_trigger == "login-failure"
    assert checklist.secrets == ("DB_PASSWORD",)
    assert len(checklist.sha256) == 64


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: Bad
        vars:
          domain: example.com
        phases:
          - id: pre
            title: Pre
            gate: [nope]
            sections:
              - id: db
                title: Database
                items:
                  - id: db-backup
                    text: Backed up ${domian}
                    critical: yes please
                    chek: {type: http}
                  - id: db-backup
                    text: ""
                    check: {type: http, urll: x, timeout: "5"}
                  - id: Bad_ID
                    text: x
                    check: {type: htp}
                    confirm: x
        """)
    found = problems_of(path)
    by_line = {(line, field.rsplit(".", 1)[-1]): message for line, field, message in found}
    assert "unknown item 'nope'" in by_line[(7, "gate")]
    assert "undefined variable '${domian}'" in by_line[(13, "text")]
    assert "did you mean 'domain'" in by_line[(13, "text")]
    assert "true or false" in by_line[(14, "critical")]
    assert "did you mean 'check'" in by_line[(15, "chek")]
    assert "duplicate item id 'db-backup' (first at line 12)" in by_line[(16, "id")]
    assert "empty" in by_line[(17, "text")]
    assert "did you mean 'url'" in by_line[(18, "urll")]
    assert "number" in by_line[(18, "timeout")]
    assert "needs 'url'" in by_line[(18, "url")]
    assert "not a valid id" in by_line[(19, "id")]
    assert "unknown check type 'htp'" in by_line[(21, "type")]
    assert "neither" in by_line[(22, "confirm")]
    assert len(found) == 12


def test_error_message_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("critical: true", "critcal: true"))
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    text = str(info.value)
    assert f"{path}:23: phases[pre].sections[db].items[db-backup].critcal" in text
    assert "critcal" in text and "did you mean 'critical'" in text


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("name: x\nphases: []\n", "at least one phase"),
        ("name: x\nphases: {a: 1}\n", "expected a list"),
        ("name: x\nphases:\n  - id: p\n", "title: missing"),
        ("name: x\nphases:\n  - id: p\n    title: P\n  - id: p\n    title: Q\n",
         "duplicate phase id 'p'"),
        ("phases:\n  - id: p\n    title: P\n", "name: missing"),
        ("name: x\nsecrets: [1]\nphases:\n  - {id: p, title: P}\n", "environment variable name"),
        ("name: x\nvars: [a]\nphases:\n  - {id: p, title: P}\n", "mapping of name: value"),
        ("name: x\nname: y\nphases:\n  - {id: p, title: P}\n", "key given twice"),
        ("name: x\nphases:\n  - {id: p, title: P, sections: [{id: s, title: S, items: "
         "[{id: a, text: t, rollback_trigger: zz}]}]}\n", "unknown rollback trigger 'zz'"),
        ("name: x\nphases:\n  - {id: p, title: P, sections: [{id: s, title: S, items: "
         "[{id: a, text: 'x ${bad name}'}]}]}\n", "not a valid reference"),
        ("name: x\nphases:\n  - {id: p, title: P, sections: [{id: s, title: S, items: "
         "[{id: a, text: t, command: c, action: {type: db_backup}}]}]}\n", "not both"),
        ("name: x\nphases:\n  - {id: p, title: P, sections: [{id: s, title: S, items: "
         "[{id: a, text: t, action: {type: teleport}}]}]}\n", "unknown action type"),
        ("name: x\ntemplates: {t: {title: T}}\nphases:\n  - {id: p, title: P}\n", "body: missing"),
    ],
)
def test_each_kind_of_mistake(tmp_path: Path, snippet: str, expected: str) -> None:
    found = problems_of(write(tmp_path, snippet))
    assert any(expected in f"{field}: {message}" for _, field, message in found), found
    assert all(line > 0 for line, _, _ in found)


def test_literal_dollar_brace_escape_and_env_refs_are_valid(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("text: Deploy\n", "text: 'Deploy $${HOME} ${env:USER}'\n"))
    assert load_checklist(path).item("go").text == "Deploy $${HOME} ${env:USER}"


@pytest.mark.parametrize(
    ("content", "title"),
    [
        (None, "No such checklist file"),
        ("", "Empty checklist file"),
        ("   \n\n", "Empty checklist file"),
        ("name: [unclosed\n", "Invalid YAML"),
        (b"\x00\x01\x02binary", "Not a checklist file"),
        (b"name: \xff\xfe bad utf8", "Not a checklist file"),
        ("- just\n- a list\n", "Invalid checklist"),
        ("just text", "Invalid checklist"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", "Invalid YAML"),
    ],
)
def test_bad_files_give_one_clear_message(tmp_path: Path, content: str | bytes | None,
                                          title: str) -> None:
    path = tmp_path / "c.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises((ChecklistError, YamlFileError)) as info:
        load_checklist(path)
    assert info.value.title.startswith(title)
    assert str(path) in info.value.message


def test_directory_and_huge_file(tmp_path: Path) -> None:
    with pytest.raises(YamlFileError, match="directory"):
        load_checklist(tmp_path)
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:
        handle.write("a: ")
        handle.write("x" * (50 * 1024 * 1024))
    with pytest.raises(YamlFileError, match="too large"):
        load_checklist(big)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nphases:\n  - id: p\n    title: [oops\n")
    with pytest.raises(YamlFileError) as info:
        load_checklist(path)
    # PyYAML notices the unclosed '[' at the end of the file: line 5 (the file has 4 lines).
    assert info.value.message == (f"{path}, line 5, column 1: did not find expected ',' or ']'. "
                                  "Fix the YAML syntax there.")


def test_a_phase_may_list_items_without_sections(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, """\
name: Small
phases:
  - id: only
    title: Only phase
    items:
      - id: one
        text: First
      - id: two
        text: Second
        critical: true
"""))
    (phase,) = checklist.phases
    assert [item.qid for item in phase.items] == ["only.one", "only.two"]
    (section,) = phase.sections
    assert section.title == ""  # untitled: the list shows no heading for it
    assert checklist.item("only.two").critical


def test_a_phase_with_both_sections_and_items_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, """\
name: Both
phases:
  - id: p
    title: P
    sections:
      - id: s
        title: S
        items:
          - id: a
            text: A
    items:
      - id: b
        text: B
""")
    with pytest.raises(ChecklistError) as error:
        load_checklist(path)
    assert "c.yaml:11: phases[p].items: a phase has either 'sections' or 'items', not both" in str(
        error.value)
