"""Work in progress now and day by day, and where work waits (time in each status).

Daily WIP is derived from the status history, not sampled: each stay in an in-progress
status adds one from its start until the next status change. Items with no status
change since the first day keep their current status for the whole period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

from sqlalchemy import CTE, Connection, ColumnElement, and_, case, exists, func, literal, or_, select

from integration.reports.scope import STATUS_FIELDS, Scope, item_filter, midnight
from integration.reports.sqlfuncs import epoch, floor_int, greatest, least
from integration.store.tables import item_history as h
from integration.store.tables import items as i

IN_PROGRESS = "in_progress"
WAITING_CATEGORIES = ("todo", "in_progress", "unknown")


@dataclass(frozen=True)
class WipNow:
    total: int
    by_status: tuple[tuple[str, int], ...]
    by_assignee: tuple[tuple[str | None, str, int], ...]  # (id, name, items); id None = unassigned


@dataclass(frozen=True)
class WipDay:
    day: date
    total: int
    by_status: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class StatusTime:
    status: str
    category: str
    item_days: float
    items: int

    @property
    def mean_days(self) -> float:
        return round(self.item_days / self.items, 2) if self.items else 0.0


def wip_now(conn: Connection, scope: Scope) -> WipNow:
    """Items whose current status category is in_progress, by status and by assignee."""
    where = and_(item_filter(i, scope), i.c.status_category == IN_PROGRESS)
    by_status = conn.execute(
        select(i.c.status_name, func.count()).where(where).group_by(i.c.status_name)
        .order_by(func.count().desc(), i.c.status_name)
    ).all()
    by_person = conn.execute(
        select(i.c.assignee_id, func.max(i.c.assignee_name), func.count()).where(where)
        .group_by(i.c.assignee_id)
    ).all()
    people = sorted(((pid, name or pid or "unassigned", int(n)) for pid, name, n in by_person),
                    key=lambda row: (-row[2], row[1]))
    return WipNow(
        total=sum(int(n) for _, n in by_status),
        by_status=tuple((name or "(no status)", int(n)) for name, n in by_status),
        by_assignee=tuple(people),
    )


def _touched(grid_start: datetime) -> CTE:
    return (
        select(h.c.tracker, h.c.item_id)
        .where(h.c.field.in_(STATUS_FIELDS), h.c.at >= grid_start)
        .distinct()
        .cte("touched")
    )


def timeline(scope: Scope, grid_start: datetime) -> CTE:
    """Every status stay [at, next_at) of the items whose status changed since `grid_start`."""
    touched = _touched(grid_start)
    order = (h.c.tracker, h.c.item_id)
    return (
        select(
            h.c.tracker, h.c.item_id, h.c.at,
            func.coalesce(h.c.new, "(no status)").label("status"),
            func.coalesce(h.c.new_category, "unknown").label("category"),
            func.lead(h.c.at).over(partition_by=order, order_by=(h.c.at, h.c.id)).label("next_at"),
        )
        .select_from(
            h.join(touched, and_(touched.c.tracker == h.c.tracker, touched.c.item_id == h.c.item_id))
            .join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id))
        )
        .where(h.c.field.in_(STATUS_FIELDS), item_filter(i, scope))
        .cte("timeline")
    )


def _untouched(grid_start: datetime, until: datetime) -> ColumnElement[bool]:
    """Items with no status change since `grid_start`: their current status held all along."""
    changed = exists().where(h.c.tracker == i.c.tracker, h.c.item_id == i.c.item_id,
                             h.c.field.in_(STATUS_FIELDS), h.c.at >= grid_start)
    return and_(~changed, or_(i.c.created_at.is_(None), i.c.created_at < until))


def _day_of(column: ColumnElement[datetime], grid_start: datetime) -> ColumnElement[int]:
    offset = (epoch(column) - literal(grid_start.timestamp())) / 86400
    return case((column < grid_start, -1), else_=floor_int(offset))


def wip_daily(conn: Connection, scope: Scope) -> tuple[WipDay, ...]:
    """In-progress items at the end of each day of the period (at `until` for its last day)."""
    grid = midnight(scope.since)
    stays = timeline(scope, grid)
    active = and_(stays.c.category == IN_PROGRESS, stays.c.at < scope.until)
    deltas: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    starts = select(_day_of(stays.c.at, grid).label("d"), stays.c.status).where(active)
    ends = select(_day_of(stays.c.next_at, grid).label("d"), stays.c.status).where(
        active, stays.c.next_at.is_not(None), stays.c.next_at < scope.until)
    for query, sign in ((starts, 1), (ends, -1)):
        sub = query.subquery()
        for d, name, n in conn.execute(select(sub.c.d, sub.c.status, func.count()).group_by(sub.c.d, sub.c.status)):
            deltas[int(d)][name] += sign * int(n)
    level: dict[str, int] = defaultdict(int)
    steady = select(i.c.status_name, func.count()).where(
        item_filter(i, scope), i.c.status_category == IN_PROGRESS, _untouched(grid, scope.until)
    ).group_by(i.c.status_name)
    for name, n in conn.execute(steady):
        level[name or "(no status)"] += int(n)
    return _running(level, deltas, grid, scope.until)


def _running(level: dict[str, int], deltas: Mapping[int, Mapping[str, int]], grid: datetime,
             until: datetime) -> tuple[WipDay, ...]:
    for name, n in deltas.get(-1, {}).items():
        level[name] += n
    out = []
    for k in range(math.ceil((until - grid) / timedelta(days=1))):
        for name, n in deltas.get(k, {}).items():
            level[name] += n
        shown = {name: n for name, n in sorted(level.items()) if n}
        out.append(WipDay((grid + timedelta(days=k)).date(), sum(shown.values()), MappingProxyType(shown)))
    return tuple(out)


def time_in_status(conn: Connection, scope: Scope) -> tuple[StatusTime, ...]:
    """Item-days spent in each not-yet-done status during the period (stays clipped to it)."""
    grid = midnight(scope.since)
    stays = timeline(scope, grid)
    since_s, until_s = scope.since.timestamp(), scope.until.timestamp()
    start = greatest(epoch(stays.c.at), literal(since_s))
    end = least(func.coalesce(epoch(stays.c.next_at), literal(until_s)), literal(until_s))
    ident = stays.c.tracker + ":" + stays.c.item_id
    moving = conn.execute(
        select(stays.c.status, stays.c.category, func.sum(end - start), func.count(func.distinct(ident)))
        .where(stays.c.category.in_(WAITING_CATEGORIES), stays.c.at < scope.until, end > start)
        .group_by(stays.c.status, stays.c.category)
    ).all()
    category = func.coalesce(i.c.status_category, "unknown")
    still = conn.execute(
        select(i.c.status_name, category, func.count())
        .where(item_filter(i, scope), category.in_(WAITING_CATEGORIES), _untouched(grid, scope.until))
        .group_by(i.c.status_name, category)
    ).all()
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for name, cat, seconds, n in moving:
        totals[(name, cat)][0] += float(seconds or 0)
        totals[(name, cat)][1] += int(n)
    for name, cat, n in still:
        totals[(name or "(no status)", cat)][0] += int(n) * (until_s - since_s)
        totals[(name or "(no status)", cat)][1] += int(n)
    rows = [StatusTime(name, cat, round(sec / 86400, 2), int(n)) for (name, cat), (sec, n) in totals.items()]
    return tuple(sorted(rows, key=lambda r: (-r.item_days, r.status)))
