"""Times as the journal stores them and as operators read them in a log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOT_RECORDED = "not recorded"


def parse_time(text: Any) -> datetime | None:
    """An ISO-8601 time from the journal (``Z`` or offset), or None when absent or malformed."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def show_time(moment: datetime | str | None, *, with_date: bool = True) -> str:
    """A time as operators read it in a log: ``2026-11-26 02:30 UTC``."""
    parsed = parse_time(moment)
    if parsed is None:
        return NOT_RECORDED
    parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M UTC" if with_date else "%H:%M UTC")
