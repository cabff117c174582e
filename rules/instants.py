"""Absolute points in time in rule files: `created: { after: 2026-01-01 }`.

A date stands for the midnight that starts it in the rule's timezone, so a team in Tokyo
and one in Berlin each get their own New Year. A date and time without an offset is also
read in the rule's timezone; one with an offset (`Z`, `+02:00`) is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


class InstantError(ValueError):
    pass


def parse_instant(text: object, tz: ZoneInfo) -> datetime:
    """The UTC instant `text` names; raises InstantError saying what is accepted."""
    raw = str(text).strip() if isinstance(text, (str, date)) else ""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InstantError(
            "a point in time is a date like 2026-01-01 or a date and time like 2026-01-01T09:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)
