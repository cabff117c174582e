"""UTC times as text, their date and time of day worked out once a second.

A datetime's own `isoformat` and `strftime` format each of their fields through C's printf:
some 16 k and 23 k instructions a call, three calls for every webhook delivery (its log line,
its envelope, its job). The text here is the same, byte for byte.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

_last: tuple[int, str] = (-1, "")  # the last whole second written, and its text up to the seconds


def _prefix(second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a whole unix second.

    The pair is read and replaced as one tuple: threads writing lines in different seconds each get
    their own second's text (a shared list read field by field could pair one second with another's)."""
    global _last
    last = _last
    if last[0] != second:
        last = _last = (second, datetime.fromtimestamp(second, UTC).isoformat()[:19])
    return last[1]


def iso_from_timestamp(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat()` (a log record's time)."""
    second = math.floor(created)
    micros = round((created - second) * 1e6)  # half to even, as `fromtimestamp` rounds
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_prefix(second)}.{micros:06d}+00:00" if micros else f"{_prefix(second)}+00:00"


def iso_utc(moment: datetime) -> str:
    """`moment.isoformat()` (the datetime's own text unless it is in UTC)."""
    if moment.tzinfo is not UTC:
        return moment.isoformat()
    second, micros = math.floor(moment.timestamp()), moment.microsecond
    return f"{_prefix(second)}.{micros:06d}+00:00" if micros else f"{_prefix(second)}+00:00"


def rq_utc(moment: datetime) -> str:
    """RQ's `utcformat` of an aware datetime in UTC: `%Y-%m-%dT%H:%M:%S.%fZ`."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return f"{_prefix(math.floor(moment.timestamp()))}.{moment.microsecond:06d}Z"
