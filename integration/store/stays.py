"""When each status stay ended: `item_history.ended_at`, kept at write time.

A status row (field `status` or `created`) opens a stay in its status; the stay ends at
the next status row of the same item, in (at, id) order — the same order the reports'
timeline always used. `ended_at` holds that next row's time (NULL while the stay is the
item's current one), so a period's stays are a range query on indexed columns instead of
a window over every item's history.

Rows arrive out of order (a late webhook, a sync that reads older history), so every write
recomputes the stays it can have changed: the new rows and any stay still open or ending
at or after the earliest new row. On PostgreSQL, writers of the same item's stays take
turns (a webhook and a sync page may write one item at once); SQLite has one writer.
The stays' daily counts and times (integration.store.stay_days) change with them: those of the
stays recomputed are taken off and added again with their new ends, and a change of an item's team
or deleted flag moves its whole history's (`move_stays`), in the same turn. So do the items'
seconds per status over their cycle (integration.store.cycle_stays), recomputed for every item written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, text, update
from sqlalchemy.orm import aliased

from integration.store import cycle_stays, stay_days
from integration.store.completions import STATUS_FIELDS
from integration.store.tables import item_history as h


def next_status_at() -> ColumnElement[datetime]:
    """The time of the item's next status row after the row being updated, in (at, id) order."""
    later = aliased(h, name="later")
    return (
        select(func.min(later.c.at))
        .where(later.c.tracker == h.c.tracker, later.c.item_id == h.c.item_id, later.c.field.in_(STATUS_FIELDS),
               or_(later.c.at > h.c.at, and_(later.c.at == h.c.at, later.c.id > h.c.id)))
        .scalar_subquery()
    )


def close_stays(conn: Connection, tracker: str, item_ids: Iterable[str], earliest: datetime,
                written: frozenset[str] = frozenset()) -> None:
    """Recompute `ended_at` of the items' stays that rows written at or after `earliest` can end.

    Call in the transaction that inserted the rows (their fingerprints: `written`): their own
    `ended_at` is still NULL, so they are recomputed too.
    """
    ids = sorted(set(item_ids))
    if not ids:
        return
    if conn.dialect.name == "postgresql":
        _serialize(conn, tracker, ids)
    changed = or_(h.c.ended_at.is_(None), h.c.ended_at >= earliest)
    counts = stay_days.restayed(conn, tracker, ids, changed, written)
    conn.execute(
        update(h)
        .where(h.c.tracker == tracker, h.c.item_id.in_(ids), h.c.field.in_(STATUS_FIELDS), changed)
        .values(ended_at=next_status_at())
        .execution_options(synchronize_session=False)
    )
    stay_days.add(conn, counts)
    cycle_stays.refresh(conn, tracker, ids)


def take_turns(conn: Connection, tracker: str, item_ids: Iterable[str]) -> None:
    """Before reading an item's team and deleted flag to change them: wait for the other writers of
    its stays or team (PostgreSQL), so what was read is what the daily counts hold until `move_stays`."""
    ids = sorted(set(item_ids))
    if ids and conn.dialect.name == "postgresql":
        _serialize(conn, tracker, ids)


def move_stays(conn: Connection, tracker: str, changes: Mapping[str, tuple[str | None, str | None]]) -> None:
    """Items whose team or deleted flag this transaction changed, after `take_turns`: item id →
    (team key the daily counts held them under, the one now; None: not counted)."""
    stay_days.move(conn, tracker, changes)


def _serialize(conn: Connection, tracker: str, ids: list[str]) -> None:
    """Wait for other transactions recomputing these items' stays, in one order (no deadlock).

    Under READ COMMITTED a concurrent writer's new row is invisible to this statement; after the
    lock the next statement sees it committed, so the later writer recomputes with both rows.
    """
    keys = [f"stays\x1f{tracker}\x1f{item_id}" for item_id in ids]
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"),
                 {"keys": keys})


def backfill_stays(conn: Connection) -> None:
    """Fill `ended_at` of every status row (the migration, data loaded in bulk, `flowkeeper db figures
    --rebuild`); a row whose end is already right is left alone."""
    lead = (
        select(h.c.id, func.lead(h.c.at).over(partition_by=(h.c.tracker, h.c.item_id),
                                              order_by=(h.c.at, h.c.id)).label("next_at"))
        .where(h.c.field.in_(STATUS_FIELDS))
        .subquery("stays")
    )
    conn.execute(
        update(h)
        .where(h.c.id == lead.c.id, lead.c.next_at.is_not(None), h.c.ended_at.is_distinct_from(lead.c.next_at))
        .values(ended_at=lead.c.next_at)
    )


def items_of(rows: Iterable[dict[str, object]]) -> dict[str, tuple[set[str], datetime]]:
    """tracker → (item ids, earliest time) of the status rows among `rows`: what close_stays needs."""
    out: dict[str, tuple[set[str], datetime]] = {}
    for row in rows:
        if row["field"] not in STATUS_FIELDS:
            continue
        tracker, at = str(row["tracker"]), row["at"]
        assert isinstance(at, datetime)
        ids, earliest = out.get(tracker, (set(), at))
        ids.add(str(row["item_id"]))
        out[tracker] = (ids, min(earliest, at))
    return out


def close_written(conn: Connection, rows: Iterable[dict[str, object]]) -> None:
    """Recompute the stays that just-inserted history `rows` can have changed."""
    written = list(rows)
    fingerprints = frozenset(str(row["fingerprint"]) for row in written)
    for tracker, (ids, earliest) in items_of(written).items():
        close_stays(conn, tracker, ids, earliest, fingerprints)

