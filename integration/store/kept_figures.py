"""The report figures kept at write time, checked against the history and recomputed from it.

Each status stay's end (`item_history.ended_at`), the daily counts (`stay_days`), and each
item's cycle and its seconds per status (`cycles`, `cycle_stays`) are kept by every history
write of this release. The migrations that brought them fill them from the history already
there; a release older than those that keeps writing while the upgrade runs (a release
phase beside the old processes) adds history without them. `flowkeeper db figures` says
whether the kept figures still equal the history's, and `--rebuild` recomputes them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from integration.store import cycle_stays, stay_days
from integration.store.completions import STATUS_FIELDS
from integration.store.stays import backfill_stays
from integration.store.tables import item_history as h

Figures = Callable[[Connection], Any]


def ends_kept(conn: Connection) -> dict[int, Any]:
    """Each status row's kept end: the next status row's time, None for the item's last."""
    return dict(conn.execute(select(h.c.id, h.c.ended_at).where(h.c.field.in_(STATUS_FIELDS))).all())


def ends_expected(conn: Connection) -> dict[int, Any]:
    """Each status row's end as its item's status rows in (at, id) order give it."""
    following = func.lead(h.c.at, type_=h.c.at.type).over(partition_by=(h.c.tracker, h.c.item_id), order_by=(h.c.at, h.c.id))
    return dict(conn.execute(select(h.c.id, following).where(h.c.field.in_(STATUS_FIELDS))).all())


KEPT: dict[str, tuple[Figures, Figures]] = {  # name → (as kept, as the history gives them)
    "status stays' ends (item_history.ended_at)": (ends_kept, ends_expected),
    "daily counts (stay_days)": (stay_days.kept, stay_days.expected),
    "cycles and seconds per status (cycles, cycle_stays)": (cycle_stays.kept, cycle_stays.expected),
}


def differing(engine: Engine) -> list[str]:
    """The kept figures that no longer equal what the history gives, read in one snapshot."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return [name for name, (kept, expected) in KEPT.items() if kept(conn) != expected(conn)]


def rebuild(engine: Engine) -> None:
    """Recompute every kept figure from the history, in one transaction. Writers wait for it: on
    PostgreSQL the items and their history are locked against writes, and SQLite has one writer."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE items, item_history IN SHARE MODE"))
        backfill_stays(conn)  # the stays' ends first: the daily counts read them
        stay_days.fill(conn)
        cycle_stays.fill(conn)
