"""Business time and calendar months: weekends, holidays (the `holidays` package), a timezone.

Plain minutes, hours, days and weeks are elapsed time: a day is 24 hours, also across a
daylight-saving change, so the timezone does not matter for them. It matters for business
days and months, which follow the calendar of the rule's timezone.

Business time is measured in wall-clock fractions of business days in the calendar's
timezone: each business day counts as one whole day however long DST makes it, and
weekends and holidays count as nothing. "Older than 5 business days" therefore means at
least five business days' worth of wall-clock time lies between then and now.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from rules.durations import Duration, Unit

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3700  # ten years: beyond that a stale item is simply stale
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CalendarError(ValueError):
    pass


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown timezone '{name}' (use an IANA name such as 'Europe/Berlin')") from exc


def holiday_set(country: str | None, subdiv: str | None) -> Any:
    """The holidays package's calendar, or None for 'weekends only'."""
    if not country:
        return None
    try:
        return holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        raise CalendarError(f"no holiday calendar for country '{country}' subdivision '{subdiv}'") from exc


@dataclass(frozen=True)
class BusinessCalendar:
    """Which days are working days, and in which timezone a day starts."""

    timezone: str = "UTC"
    country: str | None = None
    subdiv: str | None = None
    weekend: frozenset[int] = frozenset({5, 6})
    extra_holidays: frozenset[date] = frozenset()
    _days: dict[date, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _spans: dict[tuple[date, date], int] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _holidays: Any = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        zone(self.timezone)
        object.__setattr__(self, "_holidays", holiday_set(self.country, self.subdiv))

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def is_business_day(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = day.weekday() not in self.weekend and day not in self.extra_holidays
            if known and self._holidays is not None:
                known = day not in self._holidays
            self._days[day] = known
        return known

    def _at(self, day: date, fraction: float) -> datetime:
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return (start + timedelta(seconds=fraction * 86400)).astimezone(UTC)

    def subtract_business_days(self, now: datetime, amount: float) -> datetime:
        """The latest instant with at least `amount` business days between it and now."""
        if amount <= 0:
            return now
        local = now.astimezone(self.tz)
        day = local.date()
        available = _wall_fraction(local) if self.is_business_day(day) else 0.0
        if amount <= available:
            return self._at(day, available - amount)
        remaining = amount - available
        for _ in range(_MAX_DAYS):
            day -= timedelta(days=1)
            if self.is_business_day(day):
                if remaining <= 1:
                    return self._at(day, 1 - remaining)
                remaining -= 1
        return _EPOCH

    def business_days_between(self, start: datetime, end: datetime) -> float:
        """Business days (fractional) elapsed from start to end; 0 if end is earlier."""
        if end <= start:
            return 0.0
        first, last = start.astimezone(self.tz), end.astimezone(self.tz)
        if (last.date() - first.date()).days > _MAX_DAYS:
            return (end - start).days * 5 / 7
        if first.date() == last.date():
            return _wall_fraction(last) - _wall_fraction(first) if self.is_business_day(first.date()) else 0.0
        total = 1 - _wall_fraction(first) if self.is_business_day(first.date()) else 0.0
        total += self._days_strictly_between(first.date(), last.date())
        return total + (_wall_fraction(last) if self.is_business_day(last.date()) else 0.0)

    def _days_strictly_between(self, first: date, last: date) -> int:
        """Whole business days after `first` and before `last`; memoized (a sweep shares `last`)."""
        key = (first, last)
        count = self._spans.get(key)
        if count is None:
            count, day = 0, first + timedelta(days=1)
            while day < last:
                count += self.is_business_day(day)
                day += timedelta(days=1)
            if len(self._spans) > 10_000:
                self._spans.clear()
            self._spans[key] = count
        return count

    def cutoff(self, now: datetime, duration: Duration) -> datetime:
        """The instant exactly `duration` before now.

        "Older than" means strictly before it (an item idle exactly 3 × 24 h is not older
        than 3 days); "at least" includes it.
        """
        fixed = duration.fixed
        if fixed is not None:
            return now.astimezone(UTC) - fixed  # elapsed time, not wall-clock arithmetic
        if duration.unit is Unit.BUSINESS_DAYS:
            return self.subtract_business_days(now, duration.amount)
        return self.subtract_months(now, int(duration.amount))

    def subtract_months(self, now: datetime, months: int) -> datetime:
        """The same wall-clock time `months` calendar months earlier in this timezone.

        A day the earlier month lacks is clamped to its last day (31 March − 1 month is
        28/29 February); a wall-clock time a DST change skipped resolves as zoneinfo does.
        """
        local = now.astimezone(self.tz)
        index = local.year * 12 + local.month - 1 - months
        year, month = divmod(index, 12)
        day = min(local.day, monthrange(year, month + 1)[1])
        return local.replace(year=year, month=month + 1, day=day).astimezone(UTC)

    def elapsed(self, start: datetime, now: datetime, unit: Unit) -> float:
        """How much time passed, in `unit`, for explain output, reminders and the `age` filter."""
        if unit is Unit.BUSINESS_DAYS:
            return self.business_days_between(start, now)
        if unit is Unit.MONTHS:
            return float(self.whole_months_between(start, now))
        seconds = (now - start).total_seconds()
        per = {Unit.MINUTES: 60, Unit.HOURS: 3600, Unit.DAYS: 86400, Unit.WEEKS: 604800}[unit]
        return seconds / per

    def whole_months_between(self, start: datetime, end: datetime) -> int:
        """Whole calendar months from start to end in this timezone; 0 if end is earlier."""
        if end <= start:
            return 0
        first, last = start.astimezone(self.tz), end.astimezone(self.tz)
        months = (last.year - first.year) * 12 + last.month - first.month
        while months > 0 and self.subtract_months(end, months) < start:
            months -= 1
        return months


def _wall_fraction(local: datetime) -> float:
    return (local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6) / 86400


def calendar_from_spec(spec: dict[str, Any] | None, default_tz: str) -> BusinessCalendar:
    """Build a calendar from a rule file's `calendar:` mapping (already schema-checked)."""
    spec = spec or {}
    weekend = frozenset(WEEKDAYS.index(d) for d in spec.get("weekend", ("sat", "sun")))
    extra = frozenset(date.fromisoformat(str(d)) for d in spec.get("holidays", ()))
    return _calendar(spec.get("timezone") or default_tz, spec.get("country"), spec.get("subdiv"), weekend, extra)


@lru_cache(maxsize=256)
def _calendar(tz: str, country: str | None, subdiv: str | None, weekend: frozenset[int],
              extra: frozenset[date]) -> BusinessCalendar:
    return BusinessCalendar(tz, country, subdiv, weekend, extra)
