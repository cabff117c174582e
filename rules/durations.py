"""Durations as people write them: '48 hours', '3 days', '5 business days', '2 weeks', '1 month'.

Minutes, hours, days and weeks are elapsed time (a day is 24 hours, also across a
daylight-saving change); business days and months are calendar arithmetic in the rule's
timezone (see rules.calendar).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import timedelta


class Unit(str, enum.Enum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"  # 24 hours of elapsed time each, whatever the timezone does
    BUSINESS_DAYS = "business days"
    WEEKS = "weeks"  # 7 × 24 hours
    MONTHS = "months"  # calendar months in the rule's timezone (whole numbers only)


_UNITS = {
    "m": Unit.MINUTES, "min": Unit.MINUTES, "mins": Unit.MINUTES,
    "minute": Unit.MINUTES, "minutes": Unit.MINUTES,
    "h": Unit.HOURS, "hour": Unit.HOURS, "hours": Unit.HOURS,
    "d": Unit.DAYS, "day": Unit.DAYS, "days": Unit.DAYS,
    "calendar day": Unit.DAYS, "calendar days": Unit.DAYS,
    "bd": Unit.BUSINESS_DAYS, "business day": Unit.BUSINESS_DAYS,
    "business days": Unit.BUSINESS_DAYS, "working day": Unit.BUSINESS_DAYS,
    "working days": Unit.BUSINESS_DAYS,
    "w": Unit.WEEKS, "week": Unit.WEEKS, "weeks": Unit.WEEKS,
    "mo": Unit.MONTHS, "month": Unit.MONTHS, "months": Unit.MONTHS,
    "calendar month": Unit.MONTHS, "calendar months": Unit.MONTHS,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+(?:\s+[a-z]+)?)\s*$")
DURATION_PATTERN = (
    r"^\s*(\d+(\.\d+)?\s*(m|mins?|minutes?|h|hours?|d|days?|calendar days?|bd|business days?"
    r"|working days?|w|weeks?)|\d+\s*(mo|months?|calendar months?))\s*$"
)


@dataclass(frozen=True, slots=True)
class Duration:
    amount: float
    unit: Unit

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount} {self.unit.value}"

    @property
    def fixed(self) -> timedelta | None:
        """The elapsed length when it does not depend on a calendar (all but business days, months)."""
        if self.unit is Unit.MINUTES:
            return timedelta(minutes=self.amount)
        if self.unit is Unit.HOURS:
            return timedelta(hours=self.amount)
        if self.unit is Unit.DAYS:
            return timedelta(days=self.amount)
        if self.unit is Unit.WEEKS:
            return timedelta(weeks=self.amount)
        return None

    @property
    def days(self) -> float:
        """Approximate length in days, for ordering escalation steps."""
        per_day = {Unit.MINUTES: 1 / 1440, Unit.HOURS: 1 / 24, Unit.WEEKS: 7, Unit.MONTHS: 30.44}
        return self.amount * per_day.get(self.unit, 1)


class DurationError(ValueError):
    pass


def parse_duration(text: object) -> Duration:
    """Parse '5 business days'; raises DurationError with the units accepted."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise DurationError("a duration is text like '5 business days' or '48 hours'")
    match = _PATTERN.match(str(text).lower()) if isinstance(text, str) else None
    if not match or match.group(2) not in _UNITS:
        raise DurationError(
            "a duration needs a number and a unit: minutes, hours, days, business days, weeks or months"
        )
    unit = _UNITS[match.group(2)]
    if unit is Unit.MONTHS and "." in match.group(1):
        raise DurationError("months are calendar months: a whole number, e.g. '2 months' (or use days)")
    return Duration(float(match.group(1)), unit)
