"""Durations as people write them: '48 hours', '3 days', '5 business days', '2 weeks'."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import timedelta


class Unit(str, enum.Enum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"  # calendar days, wall-clock in the rule's timezone
    BUSINESS_DAYS = "business days"
    WEEKS = "weeks"


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
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+(?:\s+[a-z]+)?)\s*$")
DURATION_PATTERN = (
    r"^\s*\d+(\.\d+)?\s*(m|mins?|minutes?|h|hours?|d|days?|calendar days?|bd|business days?"
    r"|working days?|w|weeks?)\s*$"
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
        """The length when it does not depend on a calendar (minutes, hours)."""
        if self.unit is Unit.MINUTES:
            return timedelta(minutes=self.amount)
        if self.unit is Unit.HOURS:
            return timedelta(hours=self.amount)
        return None

    @property
    def days(self) -> float:
        """Approximate length in days, for ordering escalation steps."""
        per_day = {Unit.MINUTES: 1 / 1440, Unit.HOURS: 1 / 24, Unit.WEEKS: 7}
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
            "a duration needs a number and a unit: minutes, hours, days, business days or weeks"
        )
    return Duration(float(match.group(1)), _UNITS[match.group(2)])
