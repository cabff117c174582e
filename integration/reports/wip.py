"""Work in progress now and day by day, and where work waits (time in each status).

Daily WIP is derived from the status history, not sampled: each stay in an in-progress
status adds one from its start until the next status change (`ended_at`, which the store
keeps on every status row as it is written, so no window over the history is needed). Items with no status
change since the first day keep their current status for the whole period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

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
    text,
    tuple_,
    union_all,
)

from integration.reports.scope import Scope, item_filter, midnight
from integration.reports.sqlfuncs import epoch, floor_int, greatest, least, unindexed
from integration.reports.status_time import kept_time_in_status
from integration.store.completions import STATUS_FIELDS
from integration.store.stay_days import FRESH_KEPT, NO_TEAM, day_number
from integration.store.tables import STAYS_WHERE
from integration.store.tables import item_history as h
from integration.store.tables import items as i
from integration.store.tables import stay_days as kept

IN_PROGRESS = "in_progress"
FLOW_BANDS = ("done", "in_progress", "todo")  # bottom to top, the way work flows down the diagram
WAITING_CATEGORIES = ("todo", "in_progress", "unknown")
# written out, not bound: the planners then know the status rows' partial index applies
STATUS_ROWS = text(f"item_history.{STAYS_WHERE}")


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


def stays(scope: Scope, grid: datetime, categories: tuple[str, ...] = (), *, one_pass: bool = False) -> CTE:
    """The status stays [at, next_at) begun before `until` that matter from `grid` on: begun since
    then, or begun before and ended since (`ended_at`, kept at write time). Two index ranges, the
    first read from the index alone; stays over before `grid` add and remove one on day -1 alike.

    `categories`: only stays in these categories ("unknown" also takes rows without one), tested on
    the stored column, whose statistics PostgreSQL has (it guesses a filter on the coalesced one).
    `one_pass`: both kinds in one statement, for a plan that reads the history once anyway (a long
    period on PostgreSQL scans it in parallel; no index narrows "ended since" for stays begun before)."""
    live = select(i.c.tracker, i.c.item_id).where(item_filter(i, scope))
    wanted: list[ColumnElement[bool]] = []
    if categories:
        stored = h.c.new_category.in_(categories)
        wanted.append(or_(stored, h.c.new_category.is_(None)) if "unknown" in categories else stored)

    def part(window: ColumnElement[bool]) -> Select[Any]:
        return (
            select(h.c.tracker, h.c.item_id, h.c.at, func.coalesce(h.c.new, "(no status)").label("status"),
                   func.coalesce(h.c.new_category, "unknown").label("category"), h.c.ended_at.label("next_at"))
            # IN, not a join: one pass over the scope's items instead of a probe per history row; not
            # by (tracker, item_id) either, or SQLite walks every listed item's whole history
            .where(STATUS_ROWS, window, *wanted, tuple_(unindexed(h.c.tracker), unindexed(h.c.item_id)).in_(live))
        )

    if one_pass:
        return part(and_(h.c.at < scope.until, or_(h.c.at >= grid, h.c.ended_at >= grid))).cte("stays")
    return union_all(part(and_(h.c.at >= grid, h.c.at < scope.until)),
                     part(and_(h.c.ended_at >= grid, h.c.at < grid))).cte("stays")


def _untouched(grid: datetime, until: datetime) -> ColumnElement[bool]:
    """Items with no status change since `grid`: their current status held all along."""
    changed = exists().where(h.c.tracker == i.c.tracker, h.c.item_id == i.c.item_id,
                             h.c.field.in_(STATUS_FIELDS), h.c.at >= grid)
    return and_(~changed, or_(i.c.created_at.is_(None), i.c.created_at < until))


def _day_of(column: ColumnElement[datetime], grid_start: datetime) -> ColumnElement[int]:
    offset = (epoch(column) - literal(grid_start.timestamp())) / 86400
    return case((column < grid_start, -1), else_=floor_int(offset))


Levels = tuple[tuple[date, Mapping[tuple[str, str], int]], ...]  # (day, {(category, status): items})


def wip_daily(conn: Connection, scope: Scope, levels: Levels | None = None) -> tuple[WipDay, ...]:
    """In-progress items at the end of each day of the period (at `until` for its last day).

    `levels`: daily levels already counted for more categories (in-progress among them).
    """
    days = levels_daily(conn, scope, (IN_PROGRESS,)) if levels is None else levels
    out = []
    for d, counts in days:
        mine = {s: c for (category, s), c in counts.items() if category == IN_PROGRESS}
        out.append(WipDay(d, sum(mine.values()), MappingProxyType(mine)))
    return tuple(out)


def levels_daily(conn: Connection, scope: Scope, categories: tuple[str, ...],
                 fresh: tuple[str, ...] = ()) -> Levels:
    """Items in each (category, status) at the end of each day of the period (at `until` for its last day).

    One statement: +1 where a stay starts, -1 where it ends, per day and status, plus the
    items that sat in their status all along (day -1 = before the first day). Stays in a
    `fresh` category count only when they began in the period (done before it is not news).
    The days wholly before `until`'s day are summed from the daily counts kept at write time
    (`stay_days`); the rest, from the stays.
    """
    grid = midnight(scope.since)
    current = func.coalesce(i.c.status_category, "unknown")
    untouched = (select(literal(1).label("sign"), literal(-1).label("d"), current.label("category"),
                        func.coalesce(i.c.status_name, "(no status)").label("status"))
                 .where(item_filter(i, scope), current.in_([c for c in categories if c not in fresh]),
                        _untouched(grid, scope.until)))
    if _kept_for(scope, fresh):
        cut = max(midnight(scope.until), grid)
        parts = [_kept_moves(scope, categories, fresh, grid, cut), *_late_moves(scope, categories, fresh, grid, cut)]
    else:
        parts = _stay_moves(scope, categories, fresh, grid)
    moves = union_all(*parts, untouched).subquery("moves")
    deltas: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    query = (select(moves.c.d, moves.c.category, moves.c.status, func.sum(moves.c.sign))
             .group_by(moves.c.d, moves.c.category, moves.c.status))
    for d, category, name, n in conn.execute(query):
        deltas[int(d)][(category, name)] += int(n)
    return _running(deltas, grid, scope.until)


def _kept_for(scope: Scope, fresh: tuple[str, ...]) -> bool:
    """Whether the daily counts answer for this scope: they key items without a team as '' (a filter on
    the team '' is read from the stays) and keep the begin day of ends only for FRESH_KEPT stays."""
    return NO_TEAM not in scope.teams and set(fresh) <= set(FRESH_KEPT)


def _kept_moves(scope: Scope, categories: tuple[str, ...], fresh: tuple[str, ...], grid: datetime,
                cut: datetime) -> Select[Any]:
    """The kept daily counts before `cut`, per period day (-1: before it). Before the period, the
    stays still open are taken off: those items did not change status since, and are counted with
    their current status (`_untouched`). A fresh category's rows count when their stay began in the period."""
    first, last = day_number(grid), day_number(cut)
    before = kept.c.day < first
    wanted = [kept.c.category.in_(categories), kept.c.day < last]
    if scope.trackers:
        wanted.append(kept.c.tracker.in_(scope.trackers))
    if scope.teams:
        wanted.append(kept.c.team.in_(scope.teams))
    if fresh:
        wanted.append(or_(kept.c.category.not_in(fresh), kept.c.began >= first))
    d = case((before, -1), else_=kept.c.day - first)
    return (select(func.sum(kept.c.moves - case((before, kept.c.opened), else_=0)).label("sign"), d.label("d"),
                   kept.c.category, kept.c.status)
            .where(*wanted).group_by(d, kept.c.category, kept.c.status))


def _late_moves(scope: Scope, categories: tuple[str, ...], fresh: tuple[str, ...], grid: datetime,
                cut: datetime) -> list[Any]:
    """Stays begun and ended in [cut, until), the period's last, partial day, read from the stays."""
    if cut >= scope.until:
        return []
    live = select(i.c.tracker, i.c.item_id).where(item_filter(i, scope))
    category = func.coalesce(h.c.new_category, "unknown")
    status = func.coalesce(h.c.new, "(no status)")
    mine = and_(STATUS_ROWS, category.in_(categories),
                tuple_(unindexed(h.c.tracker), unindexed(h.c.item_id)).in_(live))
    fresh_ok = or_(category.not_in(fresh), h.c.at >= grid) if fresh else literal(True)
    return [select(literal(1).label("sign"), _day_of(h.c.at, grid).label("d"), category.label("category"),
                   status.label("status")).where(mine, h.c.at >= cut, h.c.at < scope.until),
            select(literal(-1), _day_of(h.c.ended_at, grid), category, status)
            .where(mine, fresh_ok, h.c.ended_at >= cut, h.c.ended_at < scope.until)]


def _stay_moves(scope: Scope, categories: tuple[str, ...], fresh: tuple[str, ...],
                grid: datetime) -> list[Select[Any]]:
    """The period's moves from its stays: +1 where one starts, -1 where it ends."""
    period = stays(scope, grid)
    fresh_ok = or_(period.c.category.not_in(fresh), period.c.at >= grid) if fresh else literal(True)
    counted = and_(period.c.category.in_(categories), period.c.at < scope.until, fresh_ok)
    return [select(literal(1).label("sign"), _day_of(period.c.at, grid).label("d"), period.c.category,
                   period.c.status).where(counted),
            select(literal(-1), _day_of(period.c.next_at, grid), period.c.category, period.c.status)
            .where(counted, period.c.next_at.is_not(None), period.c.next_at < scope.until)]


def _running(deltas: Mapping[int, Mapping[tuple[str, str], int]], grid: datetime, until: datetime) -> Levels:
    level: dict[tuple[str, str], int] = defaultdict(int)
    for key, n in deltas.get(-1, {}).items():
        level[key] += n
    out = []
    for k in range(math.ceil((until - grid) / timedelta(days=1))):
        for key, n in deltas.get(k, {}).items():
            level[key] += n
        shown = {key: n for key, n in sorted(level.items()) if n}
        out.append(((grid + timedelta(days=k)).date(), MappingProxyType(shown)))
    return tuple(out)


def time_in_status(conn: Connection, scope: Scope) -> tuple[StatusTime, ...]:
    """Item-days spent in each not-yet-done status during the period (stays clipped to it).

    The period's stays are summed from the counts kept at write time (integration.reports.status_time)
    when they answer for the scope (not for items without a team), else read one by one."""
    grid = midnight(scope.since)
    since_s, until_s = scope.since.timestamp(), scope.until.timestamp()
    category = func.coalesce(i.c.status_category, "unknown")
    untouched = (select(func.coalesce(i.c.status_name, "(no status)"), category,
                        func.count() * literal(until_s - since_s), func.count())
                 .where(item_filter(i, scope), category.in_(WAITING_CATEGORIES), _untouched(grid, scope.until))
                 .group_by(i.c.status_name, category))
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    if _kept_for(scope, ()):
        for key, (microseconds, n) in kept_time_in_status(conn, scope).items():
            totals[key][0] += microseconds / 1_000_000
            totals[key][1] += n
        parts: Any = untouched
    else:
        parts = union_all(_stayed(conn, scope, grid), untouched)
    for name, cat, seconds, n in conn.execute(parts):
        totals[(name, cat)][0] += float(seconds or 0)
        totals[(name, cat)][1] += int(n)
    rows = [StatusTime(name, cat, round(sec / 86400, 2), int(n)) for (name, cat), (sec, n) in totals.items()]
    return tuple(sorted(rows, key=lambda r: (-r.item_days, r.status)))


def _stayed(conn: Connection, scope: Scope, grid: datetime) -> Select[Any]:
    """(status, category, seconds, items) of the period's stays in the waiting categories.

    PostgreSQL: the categories are filtered on the stored column, so the planner sees about how
    many stays come and joins the scope's items by hash instead of one index probe per stay; and
    the stays are summed per item first (a hash aggregate), then counted, instead of sorting
    each status's stays for a count of distinct items; the stays begun in the period and those begun
    before it and ended in it are read in one pass over the history (two index ranges on a short period),
    not a second scan for the few hundred that span its start. SQLite was slower summing per item first.
    """
    on_postgresql = conn.dialect.name == "postgresql"
    period = stays(scope, grid, WAITING_CATEGORIES if on_postgresql else (), one_pass=on_postgresql)
    since_s, until_s = scope.since.timestamp(), scope.until.timestamp()
    start = greatest(epoch(period.c.at), literal(since_s))
    end = least(func.coalesce(epoch(period.c.next_at), literal(until_s)), literal(until_s))
    clipped = and_(period.c.at < scope.until, end > start)
    if not on_postgresql:
        return (select(period.c.status, period.c.category, func.sum(end - start).label("seconds"),
                       func.count(func.distinct(period.c.tracker + " " + period.c.item_id)).label("n"))
                .where(period.c.category.in_(WAITING_CATEGORIES), clipped)
                .group_by(period.c.status, period.c.category))
    per_item = (select(period.c.status, period.c.category, func.sum(end - start).label("seconds"))
                .where(clipped)  # the categories: in `stays`, on the stored column
                .group_by(period.c.status, period.c.category, period.c.tracker, period.c.item_id)
                .subquery("per_item"))
    return (select(per_item.c.status, per_item.c.category, func.sum(per_item.c.seconds).label("seconds"),
                   func.count().label("n"))
            .group_by(per_item.c.status, per_item.c.category))
