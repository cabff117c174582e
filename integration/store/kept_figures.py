"""The report figures kept at write time, checked against the history and recomputed from it.

Each status stay's end (`item_history.ended_at`), the daily counts (`stay_days`, `stay_times`), and each
item's cycle and its seconds per status (`cycles`, `cycle_stays`) and its first start (`first_starts`) are kept by every history
write of this release. They are filled from the history already there when a release that
brings them first starts (integration.store.kept_start); a release older than those that keeps writing while the upgrade runs (a release
phase beside the old processes) adds history without them. `flowkeeper db figures` says
whether the kept figures still equal the history's, and `--rebuild` recomputes them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from integration.store import cycle_stays, first_starts, stay_days
from integration.store.completions import STATUS_FIELDS
from integration.store.stays import backfill_stays
from integration.store.tables import item_history as h


def ends_agree(conn: Connection) -> bool:
    """Whether every status row's kept end is the next status row's time (None for the item's last),
    counted in the database: a million rows' ends never come to Python."""
    following = func.lead(h.c.at).over(partition_by=(h.c.tracker, h.c.item_id), order_by=(h.c.at, h.c.id))
    ends = select(h.c.ended_at, following.label("next_at")).where(h.c.field.in_(STATUS_FIELDS)).subquery()
    wrong = select(func.count()).select_from(ends).where(ends.c.ended_at.is_distinct_from(ends.c.next_at))
    return conn.execute(wrong).scalar_one() == 0


def _same(kept: Callable[[Connection], Any], expected: Callable[[Connection], Any]) -> Callable[[Connection], bool]:
    return lambda conn: bool(kept(conn) == expected(conn))


CHECKS: dict[str, Callable[[Connection], bool]] = {  # name → whether the kept figure equals the history's
    "status stays' ends (item_history.ended_at)": ends_agree,
    "daily counts (stay_days)": _same(stay_days.kept, stay_days.expected),
    "daily entries, times of day and returns (stay_times)": _same(
        lambda conn: stay_days.kept(conn, stay_days.TIMES), lambda conn: stay_days.counted(conn, stay_days.TIMES)),
    "cycles and seconds per status (cycles, cycle_stays)": _same(cycle_stays.kept, cycle_stays.expected),
    "first starts (first_starts)": _same(first_starts.kept, first_starts.expected),
}


def differing(engine: Engine) -> list[str]:
    """The kept figures that no longer equal what the history gives, read in one snapshot."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return [name for name, agrees in CHECKS.items() if not agrees(conn)]


def rebuild(engine: Engine) -> None:
    """Recompute every kept figure from the history, in one transaction. Writers wait for it: on
    PostgreSQL the items and their history are locked against writes, and SQLite has one writer."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE items, item_history IN SHARE MODE"))
        backfill_stays(conn)  # the stays' ends first: the daily counts read them
        stay_days.fill(conn)
        stay_days.fill_times(conn)
        cycle_stays.fill(conn)
        first_starts.fill(conn)
