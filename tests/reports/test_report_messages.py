"""Stakeholder messages filled from the session; unknown placeholders stay for the operator."""

from __future__ import annotations

from datetime import timedelta

from reports_factory import CANARY, START, Built, FixedClock

from rsdeploy_tui.reports import MESSAGE_IDS, build_messages
from rsdeploy_tui.reports.placeholders import fill

CLOCK = FixedClock(START + timedelta(hours=2))


def test_fill_replaces_known_placeholders_and_list_runs() -> None:
    template = "Hi [Name], Sprint X ships v1.X.X on [Date].\n- [Feature 1]\n- [Feature 2]\n" \
               "Docs: [Link to docs] at ${domain} ${env:SECRET_KEY}\n"
    text = fill(template, {"name": "Ana", "date": "2026-11-20"},
                {"feature": ["One", "Two", "Three"]}, sprint="12", version="v1.4.0",
                vars={"domain": "example.test"})
    assert text == ("Hi Ana, Sprint 12 ships v1.4.0 on 2026-11-20.\n- One\n- Two\n- Three\n"
                    "Docs: [Link to docs] at example.test ${env:SECRET_KEY}\n")
    # no features known: the placeholder lines stay for the operator to type
    assert fill("- [Feature 1]\n- [Feature 2]", {}, {"feature": []}) == \
        "- [Feature 1]\n- [Feature 2]"
    assert fill("Sprint X", {}, sprint="Sprint 9") == "Sprint 9"


def test_messages_of_a_finished_session(scenarios: Built) -> None:
    session, checklist = scenarios["finished"]
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    assert list(messages) == list(MESSAGE_IDS)
    post = messages["post_deployment"]
    assert post.subject == "Production Deployment Complete - 2026-11-20 21:30 UTC"
    assert "Sprint 12 deployment completed successfully at 21:30 UTC." in post.body
    assert "New features available:\n- Managers can assign REQUESTED repairs\n" \
           "- Technicians cannot bypass approval (security fix)\n" \
           "- Assignment notifications include repair links\n" in post.body
    assert "Please report any issues to ana." in post.body
    assert "Documentation: [Link to docs]" in post.body  # no docs_url var: left to fill in
    pre = messages["pre_deployment"]
    assert "Expected downtime: 7 minutes" in pre.body
    # the notes of "Known issues documented" are the known issues, each a sentence
    assert "Known issues: Photo thumbnails slow on Safari;" in pre.body
    for message in messages.values():
        assert CANARY not in message.text()


def test_rollback_and_status_messages_of_a_rolled_back_session(scenarios: Built) -> None:
    session, checklist = scenarios["rolled_back"]
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    rollback = messages["rollback"]
    assert rollback.subject == "URGENT - Production Rollback Completed"
    assert "Issue: Health check answering 502 after deploy (Critical functionality broken)" \
        in rollback.body
    assert "Next steps: [Plan to address and re-deploy]" in rollback.body
    issue = messages["status_issue"]
    assert "Rolling back: Health check answering 502 after deploy" in issue.body
    assert "- Application health check passing: check fail: GET /health answered 502" \
        in issue.body


def test_status_updates_of_a_half_done_session(scenarios: Built) -> None:
    session, checklist = scenarios["half_done"]
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    progress = messages["status_in_progress"].body
    assert "Deployment in progress: v1.4.0 (Sprint 12) to rs-systems-prod." in progress
    assert "Current phase: Deployment" in progress
    done, total, _ = session.state(checklist).counts(checklist)
    assert f"Progress: {done} of {total} checklist items done" in progress
    eta = messages["status_eta"].body
    assert "Estimated completion: 2026-11-" in eta and "(projected)" in eta
    assert "We hit an issue and are working on it." in messages["status_issue"].body


def test_known_issues_name_five_and_count_the_rest(tmp_path: object, app_dir: object,
                                                   closing: list) -> None:
    """A long run of issues must not turn a stakeholder message into the deployment log: five
    are named, the rest counted."""
    from pathlib import Path

    from reports_factory import frozen, make_store, session_vars

    checklist = frozen()
    store, _ = make_store(Path(str(tmp_path)) / "many")
    session = store.create(checklist, vars=session_vars(checklist, Path(str(app_dir))),
                           operator="ana")
    closing.append(session)
    for n in range(8):
        session.record("note", "pre.known-issues", text=f"failure {n}")
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    line = next(row for row in messages["pre_deployment"].body.splitlines()
                if row.startswith("Known issues:"))
    assert line.count("failure ") == 5
    assert line.endswith("and 3 more (see the deployment log)")


def test_after_a_rollback_the_success_message_is_not_ready_and_says_why(
        scenarios: Built) -> None:
    session, checklist = scenarios["rolled_back"]
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    assert messages["rollback"].ready and not messages["rollback"].unfit
    post = messages["post_deployment"]
    assert not post.ready
    assert "rollback was started" in post.unfit and "Health check answering 502" in post.unfit
    # Before any rollback the success message is ready.
    finished, checklist = scenarios["finished"]
    ok = {m.id: m for m in build_messages(checklist, finished, clock=CLOCK, use_git=False)}
    assert ok["post_deployment"].ready


def test_known_issues_are_sentences_never_error_bodies_log_notes_or_commands(
        tmp_path: object, app_dir: object, closing: list) -> None:
    from pathlib import Path

    from reports_factory import frozen, make_store, session_vars

    checklist = frozen()
    store, _ = make_store(Path(str(tmp_path)) / "bodies")
    session = store.create(checklist, vars=session_vars(checklist, Path(str(app_dir))),
                           operator="ana")
    closing.append(session)
    critical = [i for i in checklist.iter_items() if i.critical]
    failed, skipped = critical[0], critical[1]
    session.record("check_result", failed.qid, status="error",
                   summary="b'<!doctype html><html><body>403 Forbidden</body></html>'",
                   evidence={"body": "<!doctype html>"})
    session.record("command_started", failed.qid, run="r1", command="eb deploy --staged",
                   pid=1)
    session.record("command_finished", failed.qid, run="r1", exit_code=4, duration_s=1.0,
                   tail=["ERROR: ServiceError"])
    session.record("skip", skipped.qid, reason="done by hand earlier")
    session.record("note", None, text="paged Bob at 02:10, for the log only")
    session.record("note", "pre.known-issues", text="Photo thumbnails slow on Safari")
    messages = {m.id: m for m in build_messages(checklist, session, clock=CLOCK, use_git=False)}
    line = next(row for row in messages["pre_deployment"].body.splitlines()
                if row.startswith("Known issues:"))
    for leaked in ("doctype", "<html", "b'", "eb deploy", "paged Bob", "exited", "`"):
        assert leaked not in line, (leaked, line)
    assert "Photo thumbnails slow on Safari." in line
    assert "failed." in line and "skipped." in line


def test_the_log_never_reads_pass_for_a_done_item_now_failing(
        tmp_path: object, app_dir: object, closing: list) -> None:
    from pathlib import Path

    from reports_factory import frozen, make_store, session_vars

    from rsdeploy_tui.reports import build_log

    checklist = frozen()
    store, _ = make_store(Path(str(tmp_path)) / "failing")
    session = store.create(checklist, vars=session_vars(checklist, Path(str(app_dir))),
                           operator="ana")
    closing.append(session)
    health = next(line for line in build_log(checklist, session, clock=CLOCK, use_git=False)[
        "post_deployment_status"] if line["name"] == "Health Check")
    for qid in health["items"]:
        session.record("tick", qid)
    log = build_log(checklist, session, clock=CLOCK, use_git=False)
    assert next(x for x in log["post_deployment_status"] if x["name"] == "Health Check")[
        "status"] == "pass"
    session.record("check_result", health["items"][0], status="fail",
                   summary="GET /health answered 502", evidence={})
    log = build_log(checklist, session, clock=CLOCK, use_git=False)
    line = next(x for x in log["post_deployment_status"] if x["name"] == "Health Check")
    assert line["status"] == "fail" and line["failed"] == 1
    row = next(r for r in log["items"] if r["qid"] == health["items"][0])
    assert "now failing" in row["evidence"]
    assert any(i["kind"] == "deviation" and i["item"] == health["items"][0]
               for i in log["issues"])


def test_a_tick_over_a_failing_check_is_an_override_in_the_log(
        tmp_path: object, app_dir: object, closing: list) -> None:
    from pathlib import Path

    from reports_factory import frozen, make_store, session_vars

    from rsdeploy_tui.reports import render_report

    checklist = frozen()
    store, _ = make_store(Path(str(tmp_path)) / "override")
    session = store.create(checklist, vars=session_vars(checklist, Path(str(app_dir))),
                           operator="ana")
    closing.append(session)
    item = next(iter(checklist.iter_items()))
    session.record("check_result", item.qid, status="error", summary="timed out", evidence={})
    session.record("tick", item.qid, reason="verified by hand in the console",
                   check_status="error")
    text = render_report(checklist, session, "md", clock=CLOCK, use_git=False)
    assert "- Override: " in text and "verified by hand in the console" in text


def test_status_update_issues_are_sentences_without_commands_five_named(
        tmp_path: object, app_dir: object, closing: list) -> None:
    """The "Issues:" list of the status update: an item's inline commands and a failed run's
    command line are left out (as in the known issues), and a long run is cut at five."""
    from pathlib import Path

    from reports_factory import frozen, make_store, session_vars

    checklist = frozen()
    store, _ = make_store(Path(str(tmp_path)) / "status")
    session = store.create(checklist, vars=session_vars(checklist, Path(str(app_dir))),
                           operator="ana")
    closing.append(session)
    with_command = next(i for i in checklist.iter_items() if "`" in i.text)
    session.record("command_started", with_command.qid, run="r1",
                   command="eb deploy --staged --label rs-9", pid=1)
    session.record("command_finished", with_command.qid, run="r1", exit_code=4, duration_s=1.0)
    for n in range(6):
        session.record("note", "pre.known-issues", text=f"slow page {n}")
    body = {m.id: m for m in build_messages(checklist, session, clock=CLOCK,
                                            use_git=False)}["status_issue"].body
    issues = body.split("Issues:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(issues) == 6 and issues[-1] == "- and 2 more (see the deployment log)", issues
    assert "`" not in body and "eb deploy --staged" not in body
    assert any("exited 4" in line for line in issues), issues
