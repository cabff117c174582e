"""Cycle time, lead time, throughput: items completed in the period, from their status history.

An item counts as completed when its current status category is done, at its last
entry into done; it started at its first entry into in_progress. See the README, "Reports".
One SQL statement reduces the history to one row per completed item (its start, done
and creation times); the percentiles and buckets over those rows are pure functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.orm import aliased

from integration.reports.scope import STATUS_FIELDS, Scope, days, item_filter, week_index_of, week_start
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
class Completion:
    tracker: str
    key: str
    team: str | None
    done_at: datetime
    cycle_s: float | None  # None: never in progress
    lead_s: float


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
    items: tuple[Completion, ...] = ()  # every completion, for the scatterplot and flow efficiency


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


def completions_query(scope: Scope) -> Select:  # type: ignore[type-arg]
    """Per candidate item (a done entry in the period): first start, last done, first history row.

    Correlated subqueries make every lookup an index range scan on (tracker, item_id, at),
    which both planners choose reliably; a join would tempt PostgreSQL into a full scan.
    """
    candidates = (
        select(h.c.tracker, h.c.item_id)
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "done",
               h.c.at >= scope.since, h.c.at < scope.until)
        .distinct()
        .subquery("done_candidates")
    )
    row = aliased(h)
    mine = and_(row.c.tracker == candidates.c.tracker, row.c.item_id == candidates.c.item_id,
                row.c.field.in_(STATUS_FIELDS))
    started = select(func.min(row.c.at)).where(mine, row.c.new_category == "in_progress").scalar_subquery()
    done = select(func.max(row.c.at)).where(mine, row.c.new_category == "done").scalar_subquery()
    first = select(func.min(row.c.at)).where(mine).scalar_subquery()
    return (
        select(i.c.tracker, i.c.key, i.c.team, done.label("done_at"), started.label("started_at"),
               func.coalesce(i.c.created_at, first).label("created_at"))
        .select_from(candidates.join(i, and_(i.c.tracker == candidates.c.tracker,
                                             i.c.item_id == candidates.c.item_id)))
        .where(item_filter(i, scope), i.c.status_category == "done")
    )


def completed_items(conn: Connection, scope: Scope) -> list[Completion]:
    """Items completed in [since, until), with their cycle and lead times in seconds."""
    out = []
    for row in conn.execute(completions_query(scope)):
        if row.done_at is None or not scope.since <= row.done_at < scope.until:
            continue  # done again after the period: it completes then, not now
        cycle = (row.done_at - row.started_at).total_seconds() if row.started_at else None
        out.append(Completion(row.tracker, row.key, row.team, row.done_at, cycle,
                              (row.done_at - row.created_at).total_seconds()))
    return out


def weekly(done: Sequence[Completion], scope: Scope) -> tuple[WeekFigure, ...]:
    """Throughput and median cycle time per week; weeks with nothing done are listed with 0."""
    by_week: dict[int, list[Completion]] = defaultdict(list)
    for c in done:
        by_week[week_index_of(c.done_at)].append(c)
    first, last = week_index_of(scope.since), week_index_of(scope.until - timedelta(microseconds=1))
    return tuple(
        WeekFigure(week_start(w), len(by_week[w]), duration_stats(c.cycle_s for c in by_week[w]).p50)
        for w in range(first, last + 1)
    )


def canceled_count(conn: Connection, scope: Scope) -> int:
    query = (
        select(func.count(func.distinct(i.c.id)))
        .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "canceled", h.c.at >= scope.since,
               h.c.at < scope.until, i.c.status_category == "canceled", item_filter(i, scope))
    )
    return int(conn.execute(query).scalar() or 0)


def flow_figures(conn: Connection, scope: Scope) -> FlowFigures:
    """Everything about finished work in the scope: two SQL statements, then arithmetic."""
    done = completed_items(conn, scope)
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


# ---- what the age_percentile rule condition reads (through the judge) ------------------

FLOW_HISTORY = timedelta(days=90)  # "the team's history" a rule compares ages with


def team_cycle_days(conn: Connection, tracker: str, now: datetime,
                    window: timedelta = FLOW_HISTORY) -> dict[str, tuple[float, ...]]:
    """Each team's cycle times (days, sorted, unrounded) of items completed in the window before `now`."""
    found: dict[str, list[float]] = defaultdict(list)
    for c in completed_items(conn, Scope(now - window, now, (tracker,))):
        if c.cycle_s is not None:
            found[c.team or ""].append(c.cycle_s / 86400)
    return {team: tuple(sorted(values)) for team, values in found.items()}


def first_starts(conn: Connection, tracker: str, item_ids: Sequence[str]) -> dict[str, datetime]:
    """item id → its first entry into an in-progress status (where its age counts from)."""
    if not item_ids:
        return {}
    query = (select(h.c.item_id, func.min(h.c.at))
             .where(h.c.tracker == tracker, h.c.item_id.in_(list(item_ids)), h.c.field.in_(STATUS_FIELDS),
                    h.c.new_category == "in_progress")
             .group_by(h.c.item_id))
    return {item_id: at for item_id, at in conn.execute(query) if at is not None}
