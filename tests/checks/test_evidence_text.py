"""Evidence reads as text (#15): no Python reprs, no blank tail entries, no escape bytes."""

from __future__ import annotations

from rsdeploy_tui.checks.evidence import MAX_LIST_LINES, evidence_lines


def test_evidence_of_a_test_run_and_a_migration_plan() -> None:
    evidence = {
        "command": "python manage.py test", "exit_code": 0, "ok": True, "skipped": None,
        "tail": ["Found 0 test(s).", "", "-" * 70, "Ran 0 tests in 0.000s", "", "OK"],
        "pending": ["repairs.0002_remove_technician_is_manager"],
        "operations": [{"migration": "repairs.0002_remove_technician_is_manager",
                        "operation": "Remove field is_manager from technician",
                        "destructive": True}],
        "counts": {"repairs": 360, "customers": 240},
        "hops": ["301 http://a/ -> https://a/", "200 https://a/"],
        "findings": [],
    }
    assert evidence_lines(evidence, "  ") == [
        "  command: python manage.py test",
        "  exit_code: 0",
        "  ok: yes",
        "  skipped: none",
        "  tail:",
        "    Found 0 test(s).",
        "    " + "-" * 70,
        "    Ran 0 tests in 0.000s",
        "    OK",
        "  pending: repairs.0002_remove_technician_is_manager",
        "  operations:",
        "    - migration: repairs.0002_remove_technician_is_manager; operation: Remove field "
        "is_manager from technician; destructive: yes",
        "  counts:",
        "    repairs: 360",
        "    customers: 240",
        "  hops:",
        "    301 http://a/ -> https://a/",
        "    200 https://a/",
        "  findings: none",
    ]
    text = "\n".join(evidence_lines(evidence))
    assert "{" not in text and "'" not in text and "[" not in text


def test_long_values_are_cut_and_escapes_removed() -> None:
    lines = evidence_lines({"body": "x" * 500, "line": "red \x1b[31mALERT\x1b[0m\x07 done",
                            "tail": [f"line {n}" for n in range(50)]})
    assert lines[0] == "body: " + "x" * 119 + "…"
    assert lines[1] == "line: red ALERT done"
    assert lines[2] == "tail:"
    assert lines[3] == f"  ({50 - MAX_LIST_LINES} earlier line(s) not shown)"
    assert lines[-1] == "  line 49" and len(lines) == 4 + MAX_LIST_LINES


def test_the_detail_panel_shows_evidence_as_text(tmp_path: object) -> None:
    """A stored migrations result in the item's detail: the operations as sentences."""
    from pathlib import Path

    from rsdeploy_tui.checklist import load_checklist
    from rsdeploy_tui.session import SessionStore
    from rsdeploy_tui.ui.glyphs import UNICODE
    from rsdeploy_tui.ui.view import detail_text

    checklist = load_checklist()
    store = SessionStore(root=Path(str(tmp_path)) / "sessions")
    session = store.create(checklist, vars={}, operator="ana")
    qid = "pre.no-destructive-migrations"
    session.record("check_result", item=qid, status="fail", summary="1 destructive",
                   duration_s=1.0, evidence={
                       "pending": ["repairs.0002_remove_technician_is_manager"],
                       "operations": [{"migration": "repairs.0002_remove_technician_is_manager",
                                       "operation": "Remove field is_manager from technician",
                                       "destructive": True}],
                       "tail": ["Found 0 test(s).", "", "OK"]})
    session.close()
    state = store.open(session.id, read_only=True).state(checklist)
    text = detail_text(checklist, checklist.item(qid), state, str, UNICODE).plain
    assert ("      - migration: repairs.0002_remove_technician_is_manager; operation: Remove "
            "field is_manager from technician; destructive: yes") in text
    assert "    tail:\n      Found 0 test(s).\n      OK\n" in text
    assert "{'migration'" not in text and ", , " not in text
