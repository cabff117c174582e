"""Each item's first entry into an in-progress status, kept at write time: `first_starts`.

An item's age counts from its first start (aging), and convention compliance asks which items
first started in a period: read from the history, both probe every item's status rows. History
rows are never removed, so an item's first start only moves earlier, when a late row arrives;
every history write recomputes it for the items written (integration.store.cycle_stays.refresh
reads their status rows once for all the kept figures). Items that never started have no row.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from integration.store.completions import STATUS_FIELDS
from integration.store.inserts import dialect_insert
from integration.store.tables import first_starts
from integration.store.tables import item_history as h

Starts = dict[tuple[str, str], datetime]  # (tracker, item id) → first entry into in_progress


def starts_of(rows: Iterable[Any]) -> Starts:
    """First starts from status rows (tracker, item_id, at, new_category), in any order."""
    out: Starts = {}
    for r in rows:
        if r.new_category == "in_progress":
            key = (r.tracker, r.item_id)
            if key not in out or r.at < out[key]:
                out[key] = r.at
    return out


def keep(conn: Connection, starts: Starts) -> None:
    """Write these first starts in the caller's transaction (an earlier one found later replaces the row)."""
    values = [{"tracker": t, "item_id": i, "started_at": at} for (t, i), at in sorted(starts.items())]
    if values:
        conn.execute(_upsert(conn.dialect.name), values)


@functools.cache
def _upsert(dialect_name: str) -> Any:
    statement = dialect_insert(dialect_name, first_starts)
    return statement.on_conflict_do_update(  # unchanged (most writes): the row is left as it is
        index_elements=["tracker", "item_id"], set_={"started_at": statement.excluded.started_at},
        where=first_starts.c.started_at != statement.excluded.started_at)


def expected(conn: Connection) -> Starts:
    """Every item's first start, computed from the history in the database."""
    query = (select(h.c.tracker, h.c.item_id, func.min(h.c.at))
             .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "in_progress")
             .group_by(h.c.tracker, h.c.item_id))
    return {(tracker, item_id): at for tracker, item_id, at in conn.execute(query)}


def fill(conn: Connection) -> None:
    """Compute the rows from the whole history (a release's first start, the rebuild, data loaded in bulk)."""
    conn.execute(delete(first_starts))
    values = [{"tracker": t, "item_id": i, "started_at": at} for (t, i), at in sorted(expected(conn).items())]
    if values:
        conn.execute(insert(first_starts), values)


def kept(conn: Connection) -> Starts:
    """The kept rows, as `expected` gives them."""
    return {(r.tracker, r.item_id): r.started_at for r in conn.execute(select(first_starts))}
