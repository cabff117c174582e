"""Aging work in progress: each open in-progress item's age against the team's cycle times.

An item older than the 85th percentile of recent cycle times is about to go stale even
if no rule has fired yet; that is the chart Kanban practitioners read every morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from integration.reports.flow import DurationStats, duration_stats
from integration.reports.lastdone import completed, last_done
from integration.reports.scope import Scope, days, item_filter
from integration.store.completions import MICROS
from integration.store.portable import epoch_micros
from integration.store.tables import first_starts as fs
from integration.store.tables import items as i

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class AgingItem:
    tracker: str
    key: str
    title: str
    status: str
    assignee: str
    team: str | None
    age_days: float
    in_status_days: float | None
    zone: str


def cycle_stats(conn: Connection, scope: Scope) -> DurationStats:
    """Cycle-time percentiles of the scope's completions, read lean (`lastdone`: the kept first start and
    last entry into done): the same figures as the flow section's, for an aging report that reads
    nothing else of the completions. One integer a row: each cycle in whole microseconds, subtracted in
    the database (/ 10**6 is exactly the seconds datetime arithmetic gives)."""
    last = last_done(scope.since)
    joined, keep = completed(last, scope, scope.until)
    query = (select(epoch_micros(last.c.done_at) - epoch_micros(last.c.started_at)).select_from(joined)
             .where(keep, last.c.started_at.is_not(None)))
    return duration_stats([us / MICROS for us in conn.execute(query).scalars().all()])


def zone_of(age: float, cycle: DurationStats) -> str:
    """Where an age falls among the historical cycle-time percentiles."""
    if cycle.p50 is None or cycle.p85 is None or cycle.p95 is None:
        return "no history"
    if age <= cycle.p50:
        return "≤ p50"
    if age <= cycle.p85:
        return "p50–p85"
    if age <= cycle.p95:
        return "p85–p95"
    return "> p95"


def aging(conn: Connection, scope: Scope, cycle: DurationStats,
          limit: int | None = None) -> tuple[AgingItem, ...]:
    """Items in progress at `until`, oldest first; age counts from their first start.

    The first start and the last move are read as whole microseconds since 1970 (`epoch_micros`): their
    distance to `until` / 10**6 is exactly the seconds datetime arithmetic gives, without two timestamps
    converted per item."""
    started = func.coalesce(fs.c.started_at, i.c.status_changed_at, i.c.created_at)  # first start: kept
    query = (
        select(i.c.tracker, i.c.key, i.c.title, i.c.status_name, i.c.assignee_name, i.c.assignee_id, i.c.team,
               epoch_micros(started), epoch_micros(i.c.status_changed_at))
        .select_from(i.outerjoin(fs, and_(fs.c.tracker == i.c.tracker, fs.c.item_id == i.c.item_id)))
        .where(item_filter(i, scope), i.c.status_category == "in_progress")
    )
    now = (scope.until - EPOCH) // MICROSECOND
    out = []
    # fetched at once and unpacked: a year's 6,600 items in progress cost less than read row by row by name
    for tracker, key, title, status, name, assignee_id, team, started, moved in conn.execute(query).all():
        age_days = (days((now - started) / MICROS) or 0.0) if started is not None else 0.0
        out.append(AgingItem(tracker, key, title or "", status or "", name or assignee_id or "unassigned", team,
                             age_days, days((now - moved) / MICROS) if moved is not None else None,
                             zone_of(age_days, cycle)))
    out.sort(key=lambda a: (-a.age_days, a.key))
    return tuple(out[:limit] if limit is not None else out)
