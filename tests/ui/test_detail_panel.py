"""The detail panel: the verdict and its reason first, help Markdown laid out (no raw fences)."""

from __future__ import annotations

from pathlib import Path

from rsdeploy_tui.checklist import load_checklist
from rsdeploy_tui.session import derive_state
from rsdeploy_tui.session.events import Event
from rsdeploy_tui.ui.glyphs import UNICODE
from rsdeploy_tui.ui.view import detail_text

CHECKLIST = """\
name: Detail
phases:
  - id: post
    title: Post
    items:
      - id: health
        text: Health endpoint answers
        help: |
          Ask the endpoint:

          ```bash
          curl -s https://example.test/health/
          ```

          It must say **healthy**.
        check: {type: http, url: "https://example.test/health/"}
"""


def test_the_verdict_comes_before_the_help_and_fences_are_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CHECKLIST)
    checklist = load_checklist(path)
    item = checklist.item("post.health")
    event = Event(1, "check_result", "2026-11-26T02:00:00+00:00", "ana", "h", item.qid,
                  {"status": "fail", "summary": "GET /health/ answered 503", "duration_s": 0.2,
                   "evidence": {"status": 503}})
    text = detail_text(checklist, item, derive_state([event], checklist), str, UNICODE).plain
    assert "```" not in text
    assert "  curl -s https://example.test/health/" in text
    assert "It must say healthy." in text  # **bold** shown bold, not printed
    verdict = text.index("FAIL  GET /health/ answered 503")
    assert verdict < text.index("Help") < text.index("Check params")
