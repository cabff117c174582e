"""Flowkeeper's own closes: the status each item had before, so a reopen can go back there.

One row per item: the latest close by Flowkeeper. A reopen by Flowkeeper removes it;
rules read it (as `EvalContext.closure`) only while the item is still where Flowkeeper
left it, so a person's later close or reopen is never mistaken for Flowkeeper's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from integration.codec import from_jsonable, to_jsonable
from integration.store.batch import ForIds
from integration.store.db import reading
from integration.store.tables import closures
from rules.model import Closure, Status

# read whenever an item is judged: built once (`ForIds`)
_FOR_ITEMS = ForIds(lambda one_of: select(closures).where(closures.c.tracker == bindparam("tracker"),
                                                          one_of(closures.c.item_id)))


class Closures:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def remember(self, tracker: str, item_id: str, rule: str, previous: Status, to: Status, now: datetime) -> None:
        values = {"rule": rule, "closed_at": now, "previous": to_jsonable(previous), "closed_to": to_jsonable(to)}
        where = (closures.c.tracker == tracker, closures.c.item_id == item_id)
        with self.engine.begin() as conn:
            if conn.execute(update(closures).where(*where).values(**values)).rowcount == 0:
                conn.execute(insert(closures).values(tracker=tracker, item_id=item_id, **values))

    def forget(self, tracker: str, item_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(closures).where(closures.c.tracker == tracker, closures.c.item_id == item_id))

    def for_item(self, tracker: str, item_id: str) -> Closure | None:
        return self.for_items(tracker, [item_id]).get(item_id)

    def for_items(self, tracker: str, item_ids: Iterable[str], conn: Connection | None = None) -> dict[str, Closure]:
        ids = list(item_ids)
        if not ids:
            return {}
        with reading(self.engine, conn) as conn:
            return {row.item_id: Closure(row.rule, row.closed_at, from_jsonable(Status, row.previous),
                                         from_jsonable(Status, row.closed_to))
                    for row in _FOR_ITEMS.execute(conn, ids, {"tracker": tracker})}
