"""Time in status from the counts kept at write time: item-seconds and items per waiting status.

The figures are those of the period's stays (`integration.reports.wip.time_in_status`): each stay
clipped to [since, until), and the distinct items with some time in the status. The days wholly
in the period are summed from the kept counts (`stay_days`, `stay_times`, integration.store.stay_days);
only the stays starting or ending in the period's partial first and last days are read.

With L(t) the items in a status at t (a stay counts from its start, up to its end), the
item-seconds are the integral of L over the period: L at midnight of the first day times the period,
plus, for each start (+1) and end (-1) at t since then, ±(until - t), minus the same up to `since`.
The items are those in the status at `since`, plus the stays begun after it that last a while,
minus the returns: a stay begun in the period whose item left the status (after a stay that lasted
a while) after `since`. Returns are kept by the day the item left; those that left on the first
day are compared with `since` exactly, from the stays that ended that day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import aliased

from integration.reports.scope import Scope, item_filter, midnight
from integration.reports.sqlfuncs import unindexed
from integration.store.completions import STATUS_FIELDS
from integration.store.stay_days import EPOCH, MICROSECONDS_A_DAY, day_number
from integration.store.tables import item_history as h
from integration.store.tables import items as i
from integration.store.tables import stay_days, stay_times

WAITING = ("todo", "in_progress", "unknown")
Figures = dict[tuple[str, str], list[int]]  # (status, category) → [item-microseconds, items]


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC: sums of these are exact."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def kept_time_in_status(conn: Connection, scope: Scope) -> Figures:
    """Item-microseconds and items in each waiting status over the period's stays (not the items
    whose status did not change since the first day's midnight: the caller counts those)."""
    grid = midnight(scope.since)
    cut = max(midnight(scope.until), grid)
    since, until = micros(scope.since), micros(scope.until)
    base, later = _kept(conn, scope, day_number(grid), day_number(cut), until)
    out: Figures = defaultdict(lambda: [0, 0])
    for key, level in base.items():  # in the status at the first midnight
        out[key][0] += level * (until - since)
        out[key][1] += level
    for key, (moved, offsets, entries, returns) in later.items():  # the days wholly kept, [grid, cut)
        out[key][0] += moved - offsets
        out[key][1] += entries - returns
    for key, sign, at, lasts in _events(conn, scope, grid, scope.since, inclusive=True):  # kept, up to since
        out[key][0] -= sign * (since - micros(at))
        out[key][1] += sign - lasts
    for key, sign, at, lasts in _events(conn, scope, cut, scope.until, inclusive=False):  # [cut, until)
        out[key][0] += sign * (until - micros(at))
        out[key][1] += lasts
    for key, n in _exact_returns(conn, scope, grid, cut).items():
        out[key][1] -= n
    return {key: figures for key, figures in out.items() if figures[1]}


def _kept_where(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
    wanted = [table.c.category.in_(WAITING)]
    if scope.trackers:
        wanted.append(table.c.tracker.in_(scope.trackers))
    if scope.teams:
        wanted.append(table.c.team.in_(scope.teams))
    return wanted


def _kept(conn: Connection, scope: Scope, first: int, last: int,
            until: int) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], list[int]]]:
    """From the kept counts: the items in each status at the first midnight (stays begun before it and
    not ended before it, without those still open: their items did not change since), and over the days
    [first, last): the sum of each start's and end's ±(until - t), the entries, and the returns of items
    that left the status after the first day."""
    d = stay_days
    before = d.c.day < first
    level = func.sum(case((before, d.c.moves - d.c.opened), else_=0))
    moved = func.sum(case((before, 0), else_=d.c.moves * (literal(until) - d.c.day * literal(MICROSECONDS_A_DAY))))
    base: dict[tuple[str, str], int] = {}
    later: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    query = (select(d.c.status, d.c.category, level, moved).where(*_kept_where(d, scope), d.c.day < last)
             .group_by(d.c.status, d.c.category))
    for status, category, n, sums in conn.execute(query):
        base[(status, category)] = int(n or 0)
        later[(status, category)][0] = int(sums or 0)
    t = stay_times
    returned = case((t.c.left_day > first, t.c.returns), else_=0)
    query = (select(t.c.status, t.c.category, func.sum(t.c.offsets), func.sum(t.c.entries), func.sum(returned))
             .where(*_kept_where(t, scope), t.c.day >= first, t.c.day < last).group_by(t.c.status, t.c.category))
    for row in conn.execute(query):
        kept: list[Any] = list(row)[2:]
        later[(row[0], row[1])][1:] = [int(n or 0) for n in kept]
    return base, later


def _named(row: Any) -> Any:
    return func.coalesce(row.c.new, "(no status)"), func.coalesce(row.c.new_category, "unknown")


def _lasts(row: Any) -> ColumnElement[bool]:
    """A stay that ends later than it begins, or not yet."""
    return or_(row.c.ended_at.is_(None), row.c.ended_at > row.c.at)


def _events(conn: Connection, scope: Scope, low: datetime, high: datetime,
            inclusive: bool) -> list[tuple[tuple[str, str], int, datetime, int]]:
    """Starts (+1) and ends (-1) of the scope's waiting stays in [low, high] (`inclusive`) or [low, high),
    each with its time and, for starts, 1 if the stay lasts a while (else 0)."""
    if high < low or (high == low and not inclusive):
        return []
    status, category = _named(h)

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= low, column <= high if inclusive else column < high)

    starts = select(status, category, literal(1), h.c.at, case((_lasts(h), 1), else_=0)).where(_on(h, scope),
                                                                                               within(h.c.at))
    ends = select(status, category, literal(-1), h.c.ended_at, literal(0)).where(_on(h, scope), within(h.c.ended_at))
    return [((name, kind), int(sign), at, int(lasts))
            for name, kind, sign, at, lasts in conn.execute(starts.union_all(ends))]


def _exact_returns(conn: Connection, scope: Scope, grid: datetime, cut: datetime) -> dict[tuple[str, str], int]:
    """The returns the kept days cannot tell apart: stays begun before `cut` whose item left the status on
    the first day after `since` (found from those stays that ended), and stays begun in [cut, until)
    whose item left the status after `since`."""
    left, back = aliased(h, name="left_stay"), aliased(h, name="back")
    same = and_(back.c.tracker == left.c.tracker, back.c.item_id == left.c.item_id, back.c.field.in_(STATUS_FIELDS),
                *(a == b for a, b in zip(_named(back), _named(left), strict=True)), _lasts(back), _lasts(left))
    status, category = _named(left)
    early = (select(status, category, func.count())
             .where(_on(left, scope), left.c.ended_at > scope.since, left.c.ended_at < grid + timedelta(days=1),
                    exists().where(same, back.c.at >= left.c.ended_at, back.c.at < cut))
             .group_by(status, category))
    status, category = _named(back)
    late = (select(status, category, func.count())
            .where(_on(back, scope), back.c.at >= cut, back.c.at < scope.until,
                   exists().where(same, left.c.ended_at > scope.since, left.c.ended_at <= back.c.at))
            .group_by(status, category))
    out: dict[tuple[str, str], int] = defaultdict(int)
    for query in (early, late):
        for name, kind, n in conn.execute(query):
            out[(name, kind)] += int(n)
    return out


def _on(row: Any, scope: Scope) -> ColumnElement[bool]:
    """Status rows of the scope's live items in the waiting categories."""
    live = select(i.c.tracker, i.c.item_id).where(item_filter(i, scope))
    return and_(row.c.field.in_(STATUS_FIELDS), or_(row.c.new_category.in_(WAITING), row.c.new_category.is_(None)),
                tuple_(unindexed(row.c.tracker), unindexed(row.c.item_id)).in_(live))
