"""A mask stays a mask on screen: ``****`` is not read as Markdown bold (#17.2)."""

from __future__ import annotations

from rsdeploy_tui.ui.view import inline


def test_two_masks_in_an_item_text_are_shown_as_masks() -> None:
    shown = inline("Token (with **** and ****)")
    assert shown.plain == "Token (with **** and ****)"
    assert not any(span.style == "bold" for span in shown.spans)


def test_bold_and_code_are_still_rendered() -> None:
    shown = inline("Run `eb deploy` **now**, not later")
    assert shown.plain == "Run eb deploy now, not later"
    assert any(span.style == "bold" for span in shown.spans)
