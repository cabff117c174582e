"""Exact time: strict "more than", 24-hour days across DST, weeks, calendar months, dates."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.calendar import BusinessCalendar
from rules.durations import DurationError, parse_duration
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.model import EvalContext, RuleState
from rules.ruleset import RuleSet
from rules.verdicts import explain
from tests.rules.helpers import item, load, one_rule

BERLIN = ZoneInfo("Europe/Berlin")


def holds(rs: RuleSet, now: datetime, **fields: object) -> bool:
    return bool(evaluate(rs, item(**fields), None, now, EvalContext()).actions)


NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)


def test_older_than_is_strict_and_at_least_is_not(tmp_path: Path) -> None:
    older = one_rule(tmp_path, "last_activity: { older_than: 3 days }")
    at_least = one_rule(tmp_path, "last_activity: { at_least: 3 days }")
    exactly = NOW - timedelta(days=3)
    assert not holds(older, NOW, last_activity_at=exactly)  # idle exactly 3 × 24 h: not more than 3 days
    assert holds(older, NOW, last_activity_at=exactly - timedelta(seconds=1))
    assert holds(at_least, NOW, last_activity_at=exactly)
    assert not holds(at_least, NOW, last_activity_at=exactly + timedelta(seconds=1))


def test_newer_than_excludes_the_exact_boundary_too(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "created: { newer_than: 2 days }")
    assert not holds(rs, NOW, created_at=NOW - timedelta(days=2))
    assert holds(rs, NOW, created_at=NOW - timedelta(days=2) + timedelta(seconds=1))


def test_days_are_24_hours_across_a_dst_change(tmp_path: Path) -> None:
    # Berlin moved its clocks forward on Sunday 2026-03-29: Friday 09:00 → Monday 09:00 is 71 hours
    rs = one_rule(tmp_path, "last_activity: { older_than: 3 days }", timezone="Europe/Berlin")
    friday_9 = datetime(2026, 3, 27, 9, tzinfo=BERLIN).astimezone(UTC)  # UTC: `+` adds elapsed time
    monday_9 = datetime(2026, 3, 30, 9, tzinfo=BERLIN)
    assert not holds(rs, monday_9, last_activity_at=friday_9)
    assert not holds(rs, friday_9 + timedelta(hours=72), last_activity_at=friday_9)  # exactly 72 h
    assert holds(rs, friday_9 + timedelta(hours=72, seconds=1), last_activity_at=friday_9)


def test_weeks_are_seven_times_24_hours(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "created: { older_than: 2 weeks }", timezone="Europe/Berlin")
    start = datetime(2026, 3, 20, 12, tzinfo=UTC)  # a DST change lies inside the fortnight
    assert not holds(rs, start + timedelta(hours=14 * 24), created_at=start)
    assert holds(rs, start + timedelta(hours=14 * 24, minutes=1), created_at=start)


def test_months_are_calendar_months_in_the_rules_timezone(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "created: { older_than: 1 month }", timezone="Europe/Berlin")
    now = datetime(2026, 3, 31, 10, tzinfo=BERLIN)  # one month back is 28 February, 10:00 Berlin
    assert holds(rs, now, created_at=datetime(2026, 2, 28, 9, 59, tzinfo=BERLIN))
    assert not holds(rs, now, created_at=datetime(2026, 2, 28, 10, tzinfo=BERLIN))
    # across the DST change a month keeps the wall-clock time: 10:00 CEST ↔ 10:00 CET
    april = datetime(2026, 4, 15, 10, tzinfo=BERLIN)
    assert BusinessCalendar("Europe/Berlin").cutoff(april, parse_duration("1 month")) == datetime(
        2026, 3, 15, 9, tzinfo=UTC)


def test_months_count_whole_months_for_reminders() -> None:
    cal = BusinessCalendar("UTC")
    start = datetime(2026, 1, 31, 12, tzinfo=UTC)
    # the same reading as `older_than: 1 month`: from 28 Feb one month back is 28 Jan, before 31 Jan
    assert cal.whole_months_between(start, datetime(2026, 2, 28, 12, tzinfo=UTC)) == 0
    assert cal.whole_months_between(start, datetime(2026, 3, 1, 12, tzinfo=UTC)) == 1
    assert cal.whole_months_between(start, datetime(2026, 3, 31, 11, tzinfo=UTC)) == 1
    assert cal.whole_months_between(start, datetime(2027, 1, 31, 12, tzinfo=UTC)) == 12


def test_fractional_months_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DurationError, match="whole number"):
        parse_duration("1.5 months")
    with pytest.raises(RuleFileError, match="older_than"):
        one_rule(tmp_path, "created: { older_than: 1.5 months }")


def test_absolute_dates_are_midnight_in_the_rules_timezone(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "created: { after: 2026-01-01 }", timezone="Asia/Tokyo")
    tokyo_new_year = datetime(2025, 12, 31, 15, tzinfo=UTC)  # 2026-01-01 00:00 in Tokyo
    assert not holds(rs, NOW, created_at=tokyo_new_year)  # `after` is strict
    assert holds(rs, NOW, created_at=tokyo_new_year + timedelta(minutes=1))
    assert not holds(rs, NOW, created_at=datetime(2025, 12, 31, 14, tzinfo=UTC))
    before = one_rule(tmp_path, "created: { before: '2026-01-01T09:00:00+01:00' }", timezone="Asia/Tokyo")
    assert holds(before, NOW, created_at=datetime(2026, 1, 1, 7, 59, tzinfo=UTC))
    assert not holds(before, NOW, created_at=datetime(2026, 1, 1, 8, tzinfo=UTC))


def test_a_bad_date_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="after"):
        one_rule(tmp_path, "created: { after: next tuesday }")
    with pytest.raises(RuleFileError, match="point in time"):
        one_rule(tmp_path, "created: { after: 2026-02-30 }")


def test_escalation_steps_need_strictly_more_than_after(tmp_path: Path) -> None:
    rs = load(tmp_path, """
        version: 1
        rules:
          - name: r
            description: test rule
            on: schedule
            when: { last_activity: { older_than: 1 days } }
            then: [ { comment: first } ]
            escalate:
              - after: 3 days
                then: [ { comment: second } ]
        """)
    state = EvalContext(rule_states={"r": RuleState("r", 1, True, NOW, frozenset({"0"}))})
    exactly = evaluate(rs, item(last_activity_at=NOW - timedelta(days=3)), None, NOW, state)
    assert exactly.actions == ()
    later = evaluate(rs, item(last_activity_at=NOW - timedelta(days=3, seconds=1)), None, NOW, state)
    assert [a.step for a in later.actions] == ["1"]


def test_explain_says_the_limiting_instant(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "created: { at_least: 2 days, after: 2026-01-01 }")
    (verdict,) = explain(rs, item(created_at=NOW - timedelta(days=5)), None, NOW, EvalContext())
    assert verdict.trace.expected == ("at least 2 days (at or before 2026-03-11 12:00 UTC), "
                                      "after 2026-01-01 (after 2026-01-01 00:00 UTC)")


def test_readme_time_examples_are_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Time", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    rs = load(tmp_path, textwrap.dedent(block.group(1)))
    (rule,) = rs.rules
    assert rule.calendar.country == "DE" and rule.calendar.timezone == "Europe/Berlin"
    for example in re.findall(r"`(\w+: \{ (?:older_than|at_least|newer_than|after|before): [^`]+\})`", section):
        one_rule(tmp_path, example)
