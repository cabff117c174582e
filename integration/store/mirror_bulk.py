"""A page of items and history into the mirror in one transaction, with the Mirror's own rules.

`Mirror.upsert` and `Mirror.record_history` take a transaction per item, which is right
for one webhook and slow for a sweep page of a hundred items or a sync of thousands. These
do the same per page: the same columns, the same history fingerprints (a change already
recorded is not recorded again), and the same "never overwrite a newer state" rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from integration.codec import from_jsonable
from integration.store.mirror import HistoryEntry, history_row, item_columns
from integration.store.stay_days import counted_as
from integration.store.stays import close_written, move_stays, take_turns
from integration.store.store import Store
from integration.store.tables import item_history, items
from rules.model import Item


def record_history_many(conn: Connection, tracker: str, entries: Sequence[tuple[Item, HistoryEntry]]) -> int:
    """Append entries not recorded before; returns how many were new."""
    if not entries:
        return 0
    rows: dict[str, dict[str, Any]] = {}
    for item, entry in entries:
        row = history_row(tracker, item, entry)
        rows[row["fingerprint"]] = row
    known = set(conn.execute(select(item_history.c.fingerprint)
                             .where(item_history.c.fingerprint.in_(list(rows)))).scalars())
    fresh = [row for fingerprint, row in rows.items() if fingerprint not in known]
    if fresh:
        conn.execute(insert(item_history), fresh)
        close_written(conn, fresh)
    return len(fresh)


def upsert_many(conn: Connection, tracker: str, found: Sequence[Item], now: datetime) -> list[Item]:
    """Store each item unless the mirror holds a newer state; returns what the mirror now holds."""
    take_turns(conn, tracker, [i.id for i in found])  # the teams and deleted flags read here stay so
    existing = {
        row.item_id: row
        for row in conn.execute(select(items.c.id, items.c.item_id, items.c.updated_at, items.c.data, items.c.team,
                                       items.c.deleted)
                                .where(items.c.tracker == tracker, items.c.item_id.in_([i.id for i in found])))
    }
    inserts, updates, out = [], [], []
    moved: dict[str, tuple[str | None, str | None]] = {}
    for item in found:
        row = existing.get(item.id)
        if row is None:
            inserts.append({**item_columns(item), "synced_at": now})
            moved[item.id] = (None, counted_as(item.team, item.deleted))
        elif row.updated_at and item.updated_at and item.updated_at < row.updated_at and not item.deleted:
            out.append(from_jsonable(Item, row.data))
            continue
        else:
            updates.append({**{f"v_{k}": v for k, v in item_columns(item).items()}, "v_synced_at": now, "row_id": row.id})
            moved[item.id] = (counted_as(row.team, row.deleted), counted_as(item.team, item.deleted))
        out.append(item)
    if inserts:
        conn.execute(insert(items), inserts)
    if updates:
        names = [*item_columns(found[0]).keys(), "synced_at"]
        statement = (update(items).where(items.c.id == bindparam("row_id"))
                     .values({name: bindparam(f"v_{name}") for name in names}))
        conn.execute(statement, updates)
    move_stays(conn, tracker, moved)
    return out


def store_page(store: Store, tracker: str, found: Sequence[Item], history: Sequence[tuple[Item, HistoryEntry]],
               now: datetime) -> list[Item]:
    """History first (it never goes stale), then the items; one transaction for the page."""
    with store.engine.begin() as conn:
        record_history_many(conn, tracker, history)
        return upsert_many(conn, tracker, found, now) if found else []
