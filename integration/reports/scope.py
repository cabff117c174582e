"""What a report covers: period, trackers, teams; and what it knows about the rules.

A `Scope` is plain data so the CLI, the page, the digest and the tests build it the
same way; `item_filter` turns it into the WHERE clauses every query shares.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Table, and_

from rules.durations import DurationError, parse_duration

WEEK_SECONDS = 7 * 86400
MONDAY_OFFSET = 3 * 86400  # 1970-01-01 was a Thursday: weeks start on the Monday before

_PERIOD = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class ScopeError(ValueError):
    """A period or filter a person typed is not understood; the message says what is."""


@dataclass(frozen=True)
class Scope:
    """[since, until) in UTC; empty trackers/teams mean all of them (the combined view)."""

    since: datetime
    until: datetime
    trackers: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ScopeError("report periods need timezone-aware times")
        if self.since >= self.until:
            raise ScopeError(f"the period is empty: {self.since:%Y-%m-%d} is not before "
                             f"{self.until:%Y-%m-%d}")

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def describe(self) -> str:
        who = ", ".join(self.teams) if self.teams else "all teams"
        where = ", ".join(self.trackers) if self.trackers else "all trackers"
        return f"{who} · {where} · {self.since:%Y-%m-%d %H:%M} → {self.until:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class RuleCatalog:
    """What reports need to know about rules: which find stalled work, which labels flag."""

    stalled_rules: frozenset[str] = frozenset()
    flag_labels: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_ruleset(cls, ruleset: Any) -> RuleCatalog:
        """The stalled-work rules are those that wait for time to pass: swept on a schedule (stalled
        work sends no events) with a condition on an age (`older_than`, `at_least`) — not every
        scheduled rule: a bug without a priority is not stalled work."""
        rules = tuple(getattr(ruleset, "rules", ()))
        return cls(
            stalled_rules=frozenset(r.name for r in rules
                                    if "schedule" in r.triggers and _waits(getattr(r, "raw_when", {}))),
            flag_labels=MappingProxyType({r.name: tuple(r.flag_labels) for r in rules if r.flag_labels}),
        )


def _waits(condition: Any) -> bool:
    """Whether a condition, as written, asks for an age: some clock `older_than` or `at_least` a duration."""
    if isinstance(condition, dict):
        return any(key in ("older_than", "at_least") or _waits(value) for key, value in condition.items())
    if isinstance(condition, list):
        return any(_waits(value) for value in condition)
    return False


NO_CATALOG = RuleCatalog()


def parse_period(text: str) -> timedelta:
    """`30d`, `12w`, `48h`, or written as in rules (`30 days`, `2 weeks`) → a timedelta; else a ScopeError."""
    match = _PERIOD.match(text or "")
    if match and int(match.group(1)) > 0:
        return int(match.group(1)) * _UNITS[match.group(2).lower()]
    try:
        length = parse_duration((text or "").strip().lower()).fixed
    except DurationError:
        length = None
    if length is None or length <= timedelta(0):
        raise ScopeError(f"a period looks like 30d, 12w, 48h or '30 days' (got {text!r})")
    return length


def parse_instant(text: str) -> datetime:
    """`2024-05-01` or an ISO timestamp; naive values are UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScopeError(f"a date looks like 2024-05-01 or 2024-05-01T12:00:00Z (got {text!r})") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_scope(since: str, now: datetime, *, until: str | None = None, trackers: Iterable[str] = (),
               teams: Iterable[str] = ()) -> Scope:
    """A scope from what a person typed: `since` is a period back from `until` or a date."""
    end = parse_instant(until) if until else now
    try:
        start = end - parse_period(since)
    except ScopeError:
        try:
            start = parse_instant(since)
        except ScopeError:
            raise ScopeError(f"--since takes a period (30d, 12w, 48h, '30 days') or a date (2024-05-01), "
                             f"got {since!r}") from None
    return Scope(start, end, tuple(sorted(set(trackers))), tuple(sorted(set(teams))))


def item_filter(items: Table, scope: Scope) -> ColumnElement[bool]:
    """Live (not deleted) items of the scope's trackers and teams."""
    clauses: list[ColumnElement[bool]] = [items.c.deleted.is_(False)]
    if scope.trackers:
        clauses.append(items.c.tracker.in_(scope.trackers))
    if scope.teams:
        clauses.append(items.c.team.in_(scope.teams))
    return and_(*clauses)


def week_start(index: int) -> date:
    """The Monday (UTC) of week number `index` as computed in SQL by `week_index`."""
    return datetime.fromtimestamp(index * WEEK_SECONDS - MONDAY_OFFSET, UTC).date()


def week_index_of(moment: datetime) -> int:
    return int((moment.timestamp() + MONDAY_OFFSET) // WEEK_SECONDS)


def midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def days(seconds: float | None, digits: int = 2) -> float | None:
    """Seconds → calendar days, rounded for people (and exact enough for tests)."""
    return None if seconds is None else round(float(seconds) / 86400, digits)
