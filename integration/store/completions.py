"""Items completed in a window, read from the mirror's status history.

An item counts as completed when its current status category is done, at its last
entry into done; it started at its first entry into in_progress. Those times are kept
at write time (integration.store.cycle_stays), so one SQL statement reads one row per
completed item. The Reports (cycle time, lead time, throughput, forecasts, digests) and the judge (`age_percentile`: each team's recent
cycle times) read the same completions from here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Select, Subquery, and_, func, select, true

from integration.store.tables import cycles
from integration.store.tables import item_history as h
from integration.store.tables import items as i

STATUS_FIELDS = ("status", "created")  # history rows that set an item's status
FLOW_HISTORY = timedelta(days=90)  # "the team's history" a rule compares ages with


@dataclass(frozen=True)
class Completion:
    tracker: str
    key: str
    team: str | None
    done_at: datetime
    cycle_s: float | None  # None: never in progress
    lead_s: float


def done_candidates(since: datetime, until: datetime) -> Subquery:
    """(tracker, item_id) of every item that entered a done status in [since, until)."""
    return (
        select(h.c.tracker, h.c.item_id)
        .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "done", h.c.at >= since, h.c.at < until)
        .distinct()
        .subquery("done_candidates")
    )


def completions_query(since: datetime, until: datetime,
                      where: ColumnElement[bool] | None = None) -> Select:  # type: ignore[type-arg]
    """Per item done now whose last entry into done falls in [since, until): first start, last done,
    created (the item's, else its first history row).

    `where` narrows the items (a clause on the `items` table: trackers, teams, not deleted). The three
    times are kept at write time (`cycles`, integration.store.cycle_stays), so this is a range of the
    kept last entries into done joined to the items, not three index probes per item.
    """
    return (
        select(i.c.id, i.c.tracker, i.c.item_id, i.c.key, i.c.team, cycles.c.done_at, cycles.c.started_at,
               func.coalesce(i.c.created_at, cycles.c.first_at).label("created_at"))
        .select_from(cycles.join(i, and_(i.c.tracker == cycles.c.tracker, i.c.item_id == cycles.c.item_id)))
        .where(cycles.c.done_at >= since, cycles.c.done_at < until,
               true() if where is None else where, i.c.status_category == "done")
    )


def completed_between(conn: Connection, since: datetime, until: datetime,
                      where: ColumnElement[bool] | None = None) -> list[Completion]:
    """Items completed in [since, until), with their cycle and lead times in seconds."""
    out = []
    # fetched at once and unpacked, not read row by row by name: a year's 21,000 rows cost half as much
    for _, tracker, _, key, team, done_at, started_at, created_at in conn.execute(completions_query(since, until, where)).all():
        if done_at is None or not since <= done_at < until:
            continue  # done again after the period: it completes then, not now
        cycle = (done_at - started_at).total_seconds() if started_at else None
        out.append(Completion(tracker, key, team, done_at, cycle, (done_at - created_at).total_seconds()))
    return out


def team_cycle_days(conn: Connection, tracker: str, now: datetime,
                    window: timedelta = FLOW_HISTORY) -> dict[str, tuple[float, ...]]:
    """Each team's cycle times (days, sorted, unrounded) of items completed in the window before `now`."""
    found: dict[str, list[float]] = defaultdict(list)
    live = and_(i.c.deleted.is_(False), i.c.tracker == tracker)
    for c in completed_between(conn, now - window, now, live):
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
