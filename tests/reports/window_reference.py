"""The reports' former read path, kept as the oracle for the stays kept at write time.

These are the window-function queries WIP, the cumulative flow, time in status and flow
efficiency ran before `item_history.ended_at` existed: each stay ends at the item's next
status row by lead() over its whole history. The property tests compare the figures the
reports compute now with these, on random histories.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from integration.reports import flow
from integration.reports.scope import Scope, item_filter, midnight, week_index_of, week_start
from integration.reports.sqlfuncs import epoch, greatest, least
from integration.reports.wip import WAITING_CATEGORIES, Levels, StatusTime, _day_of, _running
from integration.store.completions import STATUS_FIELDS, Completion, done_candidates
from integration.store.tables import item_history as h
from integration.store.tables import items as i


def _touched(grid_start: datetime) -> CTE:
    return (
        select(h.c.tracker, h.c.item_id)
        .where(h.c.field.in_(STATUS_FIELDS), h.c.at >= grid_start)
        .distinct()
        .cte("touched")
    )


def timeline(scope: Scope, touched: CTE) -> CTE:
    """Every status stay [at, next_at) of the touched items (those whose status changed lately)."""
    return (
        select(
            i.c.id.label("item"), h.c.at,
            func.coalesce(h.c.new, "(no status)").label("status"),
            func.coalesce(h.c.new_category, "unknown").label("category"),
            # the items' integer key: partitions sort far faster than on (tracker, item_id) text
            func.lead(h.c.at).over(partition_by=i.c.id, order_by=(h.c.at, h.c.id)).label("next_at"),
        )
        .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
        # IN, not a join: SQLite then looks up the touched items' histories instead of walking every item's
        .where(tuple_(h.c.tracker, h.c.item_id).in_(select(touched.c.tracker, touched.c.item_id)),
               h.c.field.in_(STATUS_FIELDS), item_filter(i, scope))
        .cte("timeline")
    )


def _untouched(touched: CTE, until: datetime) -> ColumnElement[bool]:
    """Items with no status change since the grid start: their current status held all along."""
    changed = exists().where(touched.c.tracker == i.c.tracker, touched.c.item_id == i.c.item_id)
    return and_(~changed, or_(i.c.created_at.is_(None), i.c.created_at < until))


def levels_daily(conn: Connection, scope: Scope, categories: tuple[str, ...],
                 fresh: tuple[str, ...] = ()) -> Levels:
    """Items in each (category, status) at the end of each day of the period (at `until` for its last day).

    One statement: +1 where a stay starts, -1 where it ends, per day and status, plus the
    items that sat in their status all along (day -1 = before the first day). Stays in a
    `fresh` category count only when they began in the period (done before it is not news).
    """
    grid = midnight(scope.since)
    touched = _touched(grid)
    stays = timeline(scope, touched)
    fresh_ok = or_(stays.c.category.not_in(fresh), stays.c.at >= grid) if fresh else literal(True)
    counted = and_(stays.c.category.in_(categories), stays.c.at < scope.until, fresh_ok)
    current = func.coalesce(i.c.status_category, "unknown")
    moves = union_all(
        select(literal(1).label("sign"), _day_of(stays.c.at, grid).label("d"), stays.c.category, stays.c.status)
        .where(counted),
        select(literal(-1), _day_of(stays.c.next_at, grid), stays.c.category, stays.c.status)
        .where(counted, stays.c.next_at.is_not(None), stays.c.next_at < scope.until),
        select(literal(1), literal(-1), current, func.coalesce(i.c.status_name, "(no status)"))
        .where(item_filter(i, scope), current.in_([c for c in categories if c not in fresh]),
               _untouched(touched, scope.until)),
    ).subquery("moves")
    deltas: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    query = (select(moves.c.d, moves.c.category, moves.c.status, func.sum(moves.c.sign))
             .group_by(moves.c.d, moves.c.category, moves.c.status))
    for d, category, name, n in conn.execute(query):
        deltas[int(d)][(category, name)] += int(n)
    return _running(deltas, grid, scope.until)


def time_in_status(conn: Connection, scope: Scope) -> tuple[StatusTime, ...]:
    """Item-days spent in each not-yet-done status during the period (stays clipped to it)."""
    touched = _touched(midnight(scope.since))
    stays = timeline(scope, touched)
    since_s, until_s = scope.since.timestamp(), scope.until.timestamp()
    start = greatest(epoch(stays.c.at), literal(since_s))
    end = least(func.coalesce(epoch(stays.c.next_at), literal(until_s)), literal(until_s))
    category = func.coalesce(i.c.status_category, "unknown")
    parts = union_all(
        select(stays.c.status, stays.c.category, func.sum(end - start).label("seconds"),
               func.count(func.distinct(stays.c.item)).label("n"))
        .where(stays.c.category.in_(WAITING_CATEGORIES), stays.c.at < scope.until, end > start)
        .group_by(stays.c.status, stays.c.category),
        select(func.coalesce(i.c.status_name, "(no status)"), category,
               func.count() * literal(until_s - since_s), func.count())
        .where(item_filter(i, scope), category.in_(WAITING_CATEGORIES), _untouched(touched, scope.until))
        .group_by(i.c.status_name, category),
    )
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for name, cat, seconds, n in conn.execute(parts):
        totals[(name, cat)][0] += float(seconds or 0)
        totals[(name, cat)][1] += int(n)
    rows = [StatusTime(name, cat, round(sec / 86400, 2), int(n)) for (name, cat), (sec, n) in totals.items()]
    return tuple(sorted(rows, key=lambda r: (-r.item_days, r.status)))


def cycle_time_by_status(conn: Connection, scope: Scope) -> list[tuple[str, str, str | None, str, str, float]]:
    """Seconds each item completed in the period (with a start) spent in each status between its first
    start and its last entry into done: every stay clipped to that span, summed in the database."""
    candidates = done_candidates(scope.since, scope.until)
    mine = and_(h.c.tracker == candidates.c.tracker, h.c.item_id == candidates.c.item_id)
    stays = (
        select(i.c.id.label("item"), i.c.tracker, i.c.key, i.c.team, h.c.at,
               func.coalesce(h.c.new, "(no status)").label("status"),
               func.coalesce(h.c.new_category, "unknown").label("category"),
               func.lead(h.c.at).over(partition_by=i.c.id, order_by=(h.c.at, h.c.id)).label("next_at"),
               func.min(case((h.c.new_category == "in_progress", h.c.at))).over(partition_by=i.c.id).label("started_at"),
               func.max(case((h.c.new_category == "done", h.c.at))).over(partition_by=i.c.id).label("done_at"))
        .select_from(candidates.join(h, mine).join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
        .where(h.c.field.in_(STATUS_FIELDS), item_filter(i, scope), i.c.status_category == "done")
        .cte("cycle_stays")
    )
    end = epoch(stays.c.done_at)
    seconds = least(func.coalesce(epoch(stays.c.next_at), end), end) - greatest(epoch(stays.c.at),
                                                                                 epoch(stays.c.started_at))
    query = (select(stays.c.tracker, stays.c.key, stays.c.team, stays.c.status, stays.c.category, func.sum(seconds))
             .where(seconds > 0, stays.c.started_at.is_not(None), stays.c.done_at >= scope.since,
                    stays.c.done_at < scope.until)
             .group_by(stays.c.item, stays.c.tracker, stays.c.key, stays.c.team, stays.c.status, stays.c.category))
    return [(tracker, key, team, status, category, float(total))
            for tracker, key, team, status, category, total in conn.execute(query)]




def completions_query(since: datetime, until: datetime, where: ColumnElement[bool]) -> Select:  # type: ignore[type-arg]
    """The completions as read before their times were kept: per item with a done entry in [since, until),
    three index probes (first start, last done, first history row)."""
    candidates = done_candidates(since, until)
    row = aliased(h)
    mine = and_(row.c.tracker == candidates.c.tracker, row.c.item_id == candidates.c.item_id,
                row.c.field.in_(STATUS_FIELDS))
    started = select(func.min(row.c.at)).where(mine, row.c.new_category == "in_progress").scalar_subquery()
    done = select(func.max(row.c.at)).where(mine, row.c.new_category == "done").scalar_subquery()
    first = select(func.min(row.c.at)).where(mine).scalar_subquery()
    return (
        select(i.c.id, i.c.tracker, i.c.item_id, i.c.key, i.c.team, done.label("done_at"), started.label("started_at"),
               func.coalesce(i.c.created_at, first).label("created_at"))
        .select_from(candidates.join(i, and_(i.c.tracker == candidates.c.tracker,
                                             i.c.item_id == candidates.c.item_id)))
        .where(where, i.c.status_category == "done")
    )


def completed_items(conn: Connection, scope: Scope) -> list[Completion]:
    """Items completed in the scope's period, as `integration.store.completions.completed_between` read them."""
    out = []
    for row in conn.execute(completions_query(scope.since, scope.until, item_filter(i, scope))):
        if row.done_at is None or not scope.since <= row.done_at < scope.until:
            continue
        cycle = (row.done_at - row.started_at).total_seconds() if row.started_at else None
        out.append(Completion(row.tracker, row.key, row.team, row.done_at, cycle,
                              (row.done_at - row.created_at).total_seconds()))
    return out


def flow_figures(conn: Connection, scope: Scope) -> flow.FlowFigures:
    """The flow figures as computed before the durations were subtracted in the database and the
    completions read in order: each duration from two datetimes in Python, each completion's week from
    its timestamp, the items sorted for the scatterplot."""
    done = completed_items(conn, scope)
    cycles, leads = [c.cycle_s for c in done], [c.lead_s for c in done]
    by_week: dict[int, list[Completion]] = defaultdict(list)
    for c in done:
        by_week[week_index_of(c.done_at)].append(c)
    first, last = week_index_of(scope.since), week_index_of(scope.until - timedelta(microseconds=1))
    weeks = tuple(flow.WeekFigure(week_start(w), len(by_week[w]),
                                  flow.duration_stats(c.cycle_s for c in by_week[w]).p50)
                  for w in range(first, last + 1))
    cycle = flow.duration_stats(cycles)
    return flow.FlowFigures(cycle, flow.duration_stats(leads), flow.histogram(cycles), flow.histogram(leads), weeks,
                            len(done), flow.canceled_count(conn, scope), len(done) - cycle.count,
                            tuple(sorted(done, key=lambda c: (c.done_at, c.key))))
