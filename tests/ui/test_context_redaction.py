"""What the detail panel shows of a var: a secret inside an undeclared var is masked too."""

from __future__ import annotations

import pytest

from rsdeploy_tui.checklist import Checklist
from rsdeploy_tui.ui.context import RunbookContext
from rsdeploy_tui.ui.glyphs import UNICODE


def test_display_masks_a_password_inside_a_var(
    mini: Checklist, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "canary-env-pw-5521")
    ctx = RunbookContext(
        checklist=mini,
        values={"dsn": "postgresql://app:canary-dsn-pw-9931@db.internal:5432/rs"},
        glyphs=UNICODE,
    )
    shown = ctx.display("psql ${dsn} -c 'select 1'  # pw canary-env-pw-5521")
    assert "canary-dsn-pw-9931" not in shown
    assert "canary-env-pw-5521" not in shown
    assert "postgresql://app:****@db.internal:5432/rs" in shown  # the rest stays readable
