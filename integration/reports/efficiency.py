"""Flow efficiency: the share of cycle time an item spent being worked on rather than waiting.

For each item completed in the period with a cycle time, every status stay between its
first start and its last entry into done counts as active or waiting. Waiting: a stay
in a to-do status (moved back), in done or canceled before a reopen, or in an
in-progress status the team marks as waiting — by default any whose name says so
("In Review", "Blocked", "Waiting for QA", "On Hold"…). A team's own list replaces the
name rule for its in-progress statuses.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, FromClause, and_, case, func, literal, or_, select

from integration.reports.context import Context
from integration.reports.dataset import Chart, Dataset
from integration.reports.scope import Scope, days, item_filter
from integration.reports.sqlfuncs import unindexed
from integration.store.tables import cycle_stays as c
from integration.store.tables import items as i

WAITING_NAMES = re.compile(
    r"\b(review|reviewing|blocked|waiting|wait|hold|paused|pending|queued?|ready for|awaiting|parked)\b",
    re.IGNORECASE)
ALL_TEAMS = "*"


@dataclass(frozen=True)
class Waiting:
    """Which statuses count as waiting, per team (`*`: every team without its own list)."""

    names: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, configured: Mapping[str, Iterable[str]]) -> Waiting:
        return cls({team: frozenset(n.casefold() for n in names) for team, names in configured.items()})

    def waits(self, team: str | None, status: str, category: str) -> bool:
        if category != "in_progress":
            return True  # moved back to to-do, or done/canceled before a reopen
        listed = self.names.get(team or "") or self.names.get(ALL_TEAMS)
        return status.casefold() in listed if listed is not None else bool(WAITING_NAMES.search(status))


@dataclass(frozen=True)
class Efficiency:
    by_status: Mapping[tuple[str, str, bool], float]  # (status, category, waiting) → seconds
    per_item: tuple[float, ...]  # each item's active share

    @property
    def active(self) -> float:
        return sum(s for (_, _, waiting), s in self.by_status.items() if not waiting)

    @property
    def total(self) -> float:
        return sum(self.by_status.values())

    @property
    def share(self) -> float | None:
        return round(self.active / self.total, 3) if self.total else None


CycleTime = tuple[str, str, str | None, str, str, float]  # (tracker, key, team, status, category, seconds)


def _kept(scope: Scope) -> tuple[FromClause, tuple[ColumnElement[bool], ...]]:
    """The kept rows of the items completed in the period, found by their end, joined to their items."""
    # the kept rows found by their end, then their items: SQLite would rather walk every done item
    joined = c.join(i, and_(i.c.tracker == unindexed(c.c.tracker), i.c.item_id == unindexed(c.c.item_id)))
    return joined, (c.c.done_at >= scope.since, c.c.done_at < scope.until, i.c.status_category == "done",
                    item_filter(i, scope))


def cycle_time_by_status(conn: Connection, scope: Scope) -> list[CycleTime]:
    """Seconds each item completed in the period (with a start) spent in each status between its first
    start and its last entry into done. Those sums are kept at write time with the cycle's end
    (integration.store.cycle_stays), so this reads a few rows per completed item, found by that end."""
    joined, where = _kept(scope)
    query = select(i.c.tracker, i.c.key, i.c.team, c.c.status, c.c.category, c.c.seconds).select_from(joined).where(*where)
    return [(tracker, key, team, name, kind, float(total)) for tracker, key, team, name, kind, total in conn.execute(query)]


def summed(conn: Connection, scope: Scope, waiting: Waiting) -> Efficiency:
    """`measure` of `cycle_time_by_status`, summed in the database: the seconds per team and status first
    (a few dozen rows, each named active or waiting here), then each item's active and total seconds,
    instead of every item's row per status (80,000 for a year of 50,000 items) to Python."""
    joined, where = _kept(scope)
    team = func.coalesce(i.c.team, "")  # no team: as `Waiting.waits` reads it
    by_status: dict[tuple[str, str, bool], float] = defaultdict(float)
    active: list[ColumnElement[bool]] = []
    query = (select(team, c.c.status, c.c.category, func.sum(c.c.seconds)).select_from(joined).where(*where)
             .group_by(team, c.c.status, c.c.category))
    for name, status, category, seconds in conn.execute(query).all():
        waits = waiting.waits(name, status, category)
        by_status[(status, category, waits)] += float(seconds)
        if not waits:
            active.append(and_(team == name, c.c.status == status, c.c.category == category))
    if not by_status:
        return Efficiency({}, ())
    worked = case((or_(*active), c.c.seconds), else_=literal(0.0)) if active else literal(0.0)
    items = (select(func.sum(worked), func.sum(c.c.seconds)).select_from(joined).where(*where)
             .group_by(c.c.tracker, c.c.item_id))
    return Efficiency(dict(by_status), tuple(float(a) / float(t) for a, t in conn.execute(items).all() if t))


def measure(times: Iterable[CycleTime], waiting: Waiting) -> Efficiency:
    """Active and waiting time per status over the cycle of each completed item."""
    by_status: dict[tuple[str, str, bool], float] = defaultdict(float)
    per_item: dict[tuple[str, str], list[float]] = {}
    kinds: dict[tuple[str | None, str, str], bool] = {}
    for tracker, key, team, status, category, seconds in times:
        waits = kinds.get((team, status, category))
        if waits is None:
            waits = kinds[(team, status, category)] = waiting.waits(team, status, category)
        by_status[(status, category, waits)] += seconds
        pair = per_item.setdefault((tracker, key), [0.0, 0.0])
        pair[0] += 0 if waits else seconds
        pair[1] += seconds
    return Efficiency(dict(by_status), tuple(active / total for active, total in per_item.values() if total))


def efficiency_section(conn: Connection, ctx: Context) -> list[Dataset]:
    waiting = Waiting.of(ctx.ask.waiting)
    # summed in the database on PostgreSQL, where the rows cost the client more than a second statement
    # costs the server; SQLite's statements run in this process, and a second pass costs it more (365 days:
    # 0.45 s against 0.37 s)
    eff = (summed(conn, ctx.scope, waiting) if conn.dialect.name == "postgresql"
           else measure(cycle_time_by_status(conn, ctx.scope), waiting))
    rows = sorted(eff.by_status.items(), key=lambda kv: (-kv[1], kv[0]))
    median = statistics.median(eff.per_item) if eff.per_item else None
    return [Dataset(
        "flow_efficiency", "Flow efficiency: cycle time active and waiting, by status", "time_in_status",
        ("status", "category", "kind", "item_days", "share"),
        tuple((status, category, "waiting" if waits else "active", days(seconds),
               round(seconds / eff.total, 3)) for (status, category, waits), seconds in rows),
        Chart("hbar", "status", ("item_days",), "item-days"),
        {"efficiency": eff.share, "items": len(eff.per_item),
         "median_item_efficiency": round(median, 3) if median is not None else None,
         "active_days": days(eff.active), "waiting_days": days(eff.total - eff.active)},
        note="Items completed in the period, from first start to done. Waiting: to-do or done statuses "
             "in between, and in-progress statuses marked waiting (by default names like review, blocked, "
             "waiting, on hold).", open_table=True)]
