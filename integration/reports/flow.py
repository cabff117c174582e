"""Cycle time, lead time, throughput: items completed in the period, from their status history.

What completes, and when, is the store's (`integration/store/completions.py`, shared with
the judge's `age_percentile`); see the README, "Reports". The percentiles and buckets
over those completions are pure functions.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from sqlalchemy import Connection, and_, func, select

from integration.reports.scope import (
    MONDAY_OFFSET,
    WEEK_SECONDS,
    Scope,
    days,
    item_filter,
    week_index_of,
    week_start,
)
from integration.store.completions import STATUS_FIELDS, Completion, completed_between
from integration.store.tables import item_history as h
from integration.store.tables import items as i

PERCENTILES = (50, 85, 95)
DONE_ORDER = attrgetter("done_at", "key")


@dataclass(frozen=True)
class DurationStats:
    """Nearest-rank percentiles in days; None when nothing was measured."""

    count: int
    mean: float | None
    p50: float | None
    p85: float | None
    p95: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p85": self.p85, "p95": self.p95}


EMPTY_STATS = DurationStats(0, None, None, None, None)


@dataclass(frozen=True)
class WeekFigure:
    week: date  # the Monday (UTC) starting the week
    completed: int
    cycle_p50: float | None


@dataclass(frozen=True)
class FlowFigures:
    cycle: DurationStats
    lead: DurationStats
    cycle_histogram: tuple[tuple[int, int], ...]  # (whole days, items)
    lead_histogram: tuple[tuple[int, int], ...]
    weeks: tuple[WeekFigure, ...]
    completed: int
    canceled: int
    no_start: int  # completed without ever being in progress: lead time only
    items: tuple[Completion, ...] = ()  # every completion by when it was done, for the scatterplot


def nearest_rank(ordered: Sequence[float], p: int) -> float:
    """The value at rank ceil(p·n/100) of sorted values: no interpolation."""
    return ordered[(p * len(ordered) + 99) // 100 - 1]


def duration_stats(seconds: Iterable[float | None]) -> DurationStats:
    ordered = sorted(s for s in seconds if s is not None)
    if not ordered:
        return EMPTY_STATS
    p50, p85, p95 = (days(nearest_rank(ordered, p)) for p in PERCENTILES)
    return DurationStats(len(ordered), days(sum(ordered) / len(ordered)), p50, p85, p95)


def histogram(seconds: Iterable[float | None]) -> tuple[tuple[int, int], ...]:
    """Items per whole number of days taken (0 = under a day)."""
    counts = Counter(int(s // 86400) for s in seconds if s is not None)
    return tuple(sorted(counts.items()))


def completed_items(conn: Connection, scope: Scope) -> list[Completion]:
    """Items of the scope completed in [since, until), with their cycle and lead times in seconds."""
    return completed_between(conn, scope.since, scope.until, item_filter(i, scope))


def week_starts(scope: Scope) -> tuple[list[int], list[datetime]]:
    """The numbers of the weeks the scope touches, and the instant each starts (Mondays, UTC), one more
    for the end of the last: a moment is in week `w` exactly when it is in [its start, the next's)."""
    first, last = week_index_of(scope.since), week_index_of(scope.until - timedelta(microseconds=1))
    weeks = list(range(first, last + 1))
    return weeks, [datetime.fromtimestamp(w * WEEK_SECONDS - MONDAY_OFFSET, UTC) for w in (*weeks, last + 1)]


def weekly(done: Sequence[Completion], scope: Scope) -> tuple[WeekFigure, ...]:
    """Throughput and median cycle time per week; weeks with nothing done are listed with 0.

    `done`: earliest done first, so each week's completions are one slice, found by bisection."""
    weeks, starts = week_starts(scope)
    moments = [c.done_at for c in done]
    ends = [bisect_left(moments, start) for start in starts]
    return tuple(
        WeekFigure(week_start(w), ends[n + 1] - ends[n],
                   duration_stats(c.cycle_s for c in done[ends[n]:ends[n + 1]]).p50)
        for n, w in enumerate(weeks)
    )


def canceled_count(conn: Connection, scope: Scope) -> int:
    query = (
        select(func.count(func.distinct(i.c.id)))
        .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "canceled", h.c.at >= scope.since,
               h.c.at < scope.until, i.c.status_category == "canceled", item_filter(i, scope))
    )
    return int(conn.execute(query).scalar() or 0)


def flow_figures(conn: Connection, scope: Scope, completed: Sequence[Completion] | None = None) -> FlowFigures:
    """Everything about finished work in the scope: two SQL statements, then arithmetic.

    `completed`: the scope's completed items, when already read. `items` lists them by when they were
    done, then by key.
    """
    # the store reads them earliest done first: this sort only orders the keys of a shared instant
    done = sorted(completed if completed is not None else completed_items(conn, scope), key=DONE_ORDER)
    cycles, leads = [c.cycle_s for c in done], [c.lead_s for c in done]
    cycle = duration_stats(cycles)
    return FlowFigures(
        cycle=cycle,
        lead=duration_stats(leads),
        cycle_histogram=histogram(cycles),
        lead_histogram=histogram(leads),
        weeks=weekly(done, scope),
        completed=len(done),
        canceled=canceled_count(conn, scope),
        no_start=len(done) - cycle.count,
        items=tuple(done),
    )
