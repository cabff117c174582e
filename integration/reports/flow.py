"""Cycle time, lead time, throughput: items completed in the period, from their status history.

An item counts as completed when its current status category is done, at its last
entry into done; it started at its first entry into in_progress. See METRICS.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import CTE, Connection, ColumnElement, and_, case, func, select

from integration.reports.scope import (MONDAY_OFFSET, STATUS_FIELDS, WEEK_SECONDS, Scope, days, item_filter,
                                       week_index_of, week_start)
from integration.reports.sqlfuncs import epoch, floor_int
from integration.store.tables import item_history as h
from integration.store.tables import items as i

PERCENTILES = (50, 85, 95)


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


def completions(scope: Scope) -> CTE:
    """One row per item completed in [since, until): its start, done and creation times and durations."""
    candidates = (
        select(h.c.tracker, h.c.item_id)
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "done", h.c.at >= scope.since, h.c.at < scope.until)
        .distinct()
        .cte("done_candidates")
    )
    per_item = (
        select(
            h.c.tracker, h.c.item_id,
            func.min(case((h.c.new_category == "in_progress", h.c.at))).label("started_at"),
            func.max(case((h.c.new_category == "done", h.c.at))).label("done_at"),
            func.min(h.c.at).label("first_at"),
        )
        .select_from(h.join(candidates, and_(candidates.c.tracker == h.c.tracker,
                                             candidates.c.item_id == h.c.item_id)))
        .where(h.c.field.in_(STATUS_FIELDS))
        .group_by(h.c.tracker, h.c.item_id)
        .cte("per_item")
    )
    created = func.coalesce(i.c.created_at, per_item.c.first_at)
    return (
        select(
            i.c.tracker, i.c.item_id, i.c.key, i.c.team, per_item.c.started_at, per_item.c.done_at,
            (epoch(per_item.c.done_at) - epoch(per_item.c.started_at)).label("cycle_s"),
            (epoch(per_item.c.done_at) - epoch(created)).label("lead_s"),
            week_index(per_item.c.done_at).label("week"),
        )
        .select_from(per_item.join(i, and_(i.c.tracker == per_item.c.tracker, i.c.item_id == per_item.c.item_id)))
        .where(item_filter(i, scope), i.c.status_category == "done",
               per_item.c.done_at >= scope.since, per_item.c.done_at < scope.until)
        .cte("completions")
    )


def week_index(column: ColumnElement[object]) -> ColumnElement[int]:
    """Monday-based UTC week number of a timestamp (see scope.week_start)."""
    return floor_int((epoch(column) + MONDAY_OFFSET) / WEEK_SECONDS)


def percentile_stats(conn: Connection, source: CTE, column: str) -> DurationStats:
    """Count, mean and nearest-rank p50/p85/p95 of a seconds column, in one SQL statement."""
    row = conn.execute(percentile_query(source, column)).first()
    if row is None or not row.n:
        return EMPTY_STATS
    return DurationStats(int(row.n), days(row.mean), days(row.p50), days(row.p85), days(row.p95))


def percentile_query(source: CTE, column: str, *group: str):  # type: ignore[no-untyped-def]
    """Nearest rank: the value at rank ceil(p·n/100) of the sorted values (no interpolation)."""
    value = source.c[column]
    keys = [source.c[g] for g in group]
    ranked = (
        select(*keys, value.label("v"),
               func.row_number().over(partition_by=keys or None, order_by=value).label("rn"),
               func.count().over(partition_by=keys or None).label("n"))
        .where(value.is_not(None))
        .subquery()
    )
    rank = {p: (p * ranked.c.n + 99) // 100 for p in PERCENTILES}
    query = select(
        *[ranked.c[g] for g in group],
        func.max(ranked.c.n).label("n"),
        func.avg(ranked.c.v).label("mean"),
        *[func.max(case((ranked.c.rn == rank[p], ranked.c.v))).label(f"p{p}") for p in PERCENTILES],
    )
    return query.group_by(*[ranked.c[g] for g in group]) if group else query


def histogram(conn: Connection, source: CTE, column: str) -> tuple[tuple[int, int], ...]:
    """Items per whole number of days taken (0 = under a day)."""
    bucket = floor_int(source.c[column] / 86400).label("bucket")
    query = select(bucket, func.count()).where(source.c[column].is_not(None)).group_by(bucket).order_by(bucket)
    return tuple((int(b), int(n)) for b, n in conn.execute(query))


def weekly(conn: Connection, source: CTE, scope: Scope) -> tuple[WeekFigure, ...]:
    """Throughput and median cycle time per week; weeks with nothing done are listed with 0."""
    counts = dict(conn.execute(select(source.c.week, func.count()).group_by(source.c.week)).all())
    medians = {row.week: row.p50 for row in conn.execute(percentile_query(source, "cycle_s", "week"))}
    first, last = week_index_of(scope.since), week_index_of(scope.until - timedelta(microseconds=1))
    return tuple(
        WeekFigure(week_start(w), int(counts.get(w, 0)), days(medians.get(w)))
        for w in range(first, last + 1)
    )


def _canceled(conn: Connection, scope: Scope) -> int:
    query = (
        select(func.count(func.distinct(i.c.id)))
        .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "canceled", h.c.at >= scope.since,
               h.c.at < scope.until, i.c.status_category == "canceled", item_filter(i, scope))
    )
    return int(conn.execute(query).scalar() or 0)


def flow_figures(conn: Connection, scope: Scope) -> FlowFigures:
    """Everything about finished work in the scope, from one completions CTE."""
    done = completions(scope)
    cycle = percentile_stats(conn, done, "cycle_s")
    lead = percentile_stats(conn, done, "lead_s")
    return FlowFigures(
        cycle=cycle,
        lead=lead,
        cycle_histogram=histogram(conn, done, "cycle_s"),
        lead_histogram=histogram(conn, done, "lead_s"),
        weeks=weekly(conn, done, scope),
        completed=lead.count,
        canceled=_canceled(conn, scope),
        no_start=lead.count - cycle.count,
    )
