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
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, Subquery, and_, func, select, true

from integration.store.portable import epoch_micros
from integration.store.tables import cycles
from integration.store.tables import item_history as h
from integration.store.tables import items as i

STATUS_FIELDS = ("status", "created")  # history rows that set an item's status
FLOW_HISTORY = timedelta(days=90)  # "the team's history" a rule compares ages with
MICROS = 1_000_000


class Completion(NamedTuple):
    """One completed item (a plain tuple: a year's completions are tens of thousands)."""

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
    """Per item done now whose last entry into done falls in [since, until): its tracker, key, team, last
    entry into done, and in whole microseconds its cycle (from its first start; NULL when it never
    started) and lead (from its creation, else its first history row), earliest done first.

    `where` narrows the items (a clause on the `items` table: trackers, teams, not deleted). The three
    times are kept at write time (`cycles`, integration.store.cycle_stays), so this is a range of the
    kept last entries into done joined to the items, not three index probes per item. The durations are
    subtracted in the database: two timestamps fewer to read and convert per row.
    """
    done = epoch_micros(cycles.c.done_at)
    return (
        select(i.c.tracker, i.c.key, i.c.team, cycles.c.done_at,
               (done - epoch_micros(cycles.c.started_at)).label("cycle_us"),
               (done - epoch_micros(func.coalesce(i.c.created_at, cycles.c.first_at))).label("lead_us"))
        .select_from(cycles.join(i, and_(i.c.tracker == cycles.c.tracker, i.c.item_id == cycles.c.item_id)))
        .where(cycles.c.done_at >= since, cycles.c.done_at < until,
               true() if where is None else where, i.c.status_category == "done")
        .order_by(cycles.c.done_at)
    )


def completed_between(conn: Connection, since: datetime, until: datetime,
                      where: ColumnElement[bool] | None = None) -> list[Completion]:
    """Items completed in [since, until), with their cycle and lead times in seconds, earliest done first."""
    # fetched at once and unpacked, not read row by row by name: a year's 21,000 rows cost half as much;
    # whole microseconds / 10**6 is exactly timedelta.total_seconds()
    return [Completion(tracker, key, team, done_at, None if cycle_us is None else cycle_us / MICROS,
                       lead_us / MICROS)
            for tracker, key, team, done_at, cycle_us, lead_us
            in conn.execute(completions_query(since, until, where)).all()
            if since <= done_at < until]


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
