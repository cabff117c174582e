"""Business-day arithmetic across weekends, holidays, timezones and DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rules.calendar import BusinessCalendar, CalendarError, calendar_from_spec
from rules.durations import Duration, DurationError, Unit, parse_duration


def test_durations_parse_the_units_people_write() -> None:
    assert parse_duration("5 business days") == Duration(5, Unit.BUSINESS_DAYS)
    assert parse_duration("48 hours") == Duration(48, Unit.HOURS)
    assert parse_duration("3d") == Duration(3, Unit.DAYS)
    assert parse_duration("2 weeks") == Duration(2, Unit.WEEKS)
    assert str(parse_duration("1.5 bd")) == "1.5 business days"
    with pytest.raises(DurationError):
        parse_duration("5 bizdays")
    with pytest.raises(DurationError):
        parse_duration(True)


def test_weekend_does_not_count() -> None:
    cal = BusinessCalendar()
    friday_noon = datetime(2026, 3, 13, 12, tzinfo=UTC)
    # one business day before Friday noon is Thursday noon; two is Wednesday noon
    assert cal.subtract_business_days(friday_noon, 1) == datetime(2026, 3, 12, 12, tzinfo=UTC)
    monday_noon = datetime(2026, 3, 16, 12, tzinfo=UTC)
    assert cal.subtract_business_days(monday_noon, 1) == datetime(2026, 3, 13, 12, tzinfo=UTC)
    assert cal.subtract_business_days(monday_noon, 5) == datetime(2026, 3, 9, 12, tzinfo=UTC)


def test_time_during_a_weekend_is_not_business_time() -> None:
    cal = BusinessCalendar()
    saturday = datetime(2026, 3, 14, 15, tzinfo=UTC)
    assert cal.subtract_business_days(saturday, 1) == datetime(2026, 3, 13, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 3, 13, 18, tzinfo=UTC)
    assert cal.business_days_between(friday_evening, datetime(2026, 3, 16, 6, tzinfo=UTC)) == pytest.approx(0.5)


def test_holidays_are_skipped() -> None:
    us = calendar_from_spec({"country": "US"}, "UTC")
    # 2026-07-03 is the observed Independence Day (a Friday)
    tuesday = datetime(2026, 7, 7, 12, tzinfo=UTC)
    assert us.subtract_business_days(tuesday, 2) == datetime(2026, 7, 2, 12, tzinfo=UTC)
    assert BusinessCalendar().subtract_business_days(tuesday, 2) == datetime(2026, 7, 3, 12, tzinfo=UTC)


def test_extra_holidays_and_custom_weekend() -> None:
    cal = calendar_from_spec({"weekend": ["fri", "sat"], "holidays": ["2026-03-12"]}, "UTC")
    sunday = datetime(2026, 3, 15, 12, tzinfo=UTC)
    # Sunday is a working day here: half of it has passed; Fri and Sat are weekend, Thu a holiday
    assert cal.subtract_business_days(sunday, 0.5) == datetime(2026, 3, 15, 0, tzinfo=UTC)
    assert cal.subtract_business_days(sunday, 1.5) == datetime(2026, 3, 11, 0, tzinfo=UTC)


def test_business_days_follow_the_calendar_timezone() -> None:
    tokyo = BusinessCalendar(timezone="Asia/Tokyo")
    # Monday 01:00 in Tokyo is still Sunday in UTC: in Tokyo one business hour has passed
    monday_tokyo = datetime(2026, 3, 16, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    start = datetime(2026, 3, 16, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert tokyo.business_days_between(start, monday_tokyo) == pytest.approx(1 / 24)
    assert BusinessCalendar().business_days_between(start, monday_tokyo) == 0


def test_dst_day_counts_as_one_business_day() -> None:
    berlin = BusinessCalendar(timezone="Europe/Berlin")
    # clocks went forward on Sunday 2026-03-29; Monday 09:00 → Friday 09:00 local time
    monday = datetime(2026, 3, 30, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    cutoff = berlin.subtract_business_days(monday, 1)
    assert cutoff == datetime(2026, 3, 27, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    assert cutoff == datetime(2026, 3, 27, 8, tzinfo=UTC)  # CET, one hour ahead of UTC
    # plain days are 24 h of elapsed time: across the change, 3 days are 72 hours
    three_days = berlin.cutoff(monday, parse_duration("3 days"))
    assert three_days == datetime(2026, 3, 27, 7, tzinfo=UTC)
    # hours are elapsed time: 72 hours before Monday 07:00 UTC (CEST) is Friday 07:00 UTC
    assert berlin.cutoff(monday, parse_duration("72 hours")) == datetime(2026, 3, 27, 7, tzinfo=UTC)


def test_subtract_and_between_agree() -> None:
    cal = calendar_from_spec({"country": "GB", "timezone": "Europe/London"}, "UTC")
    now = datetime(2026, 4, 7, 15, 30, tzinfo=UTC)  # Tuesday after Easter Monday
    for n in (0.25, 1, 3, 5, 8, 20):
        assert cal.business_days_between(cal.subtract_business_days(now, n), now) == pytest.approx(n)


def test_unknown_zone_and_country_are_refused() -> None:
    with pytest.raises(CalendarError, match="unknown timezone"):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(CalendarError, match="no holiday calendar"):
        calendar_from_spec({"country": "XX"}, "UTC")
