"""Snoozes and exemptions people set from the tracker (`/flowkeeper snooze`, `ignore`), read into every evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    insert,
    null,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from integration.store.batch import ForIds
from integration.store.db import reading
from integration.store.sweep_tables import item_exemptions, item_snoozes


@dataclass(frozen=True)
class ItemPause:
    """What pauses rules on one item: a snooze until a time, and rules it is exempt from."""

    snoozed_until: datetime | None = None
    exempt_rules: frozenset[str] = frozenset()


# Read for every item judged, snoozes and exemptions in one statement: built once (`ForIds`). A row
# is a snooze (`until`) or an exemption (`rule`).
_PAUSES = ForIds(lambda one_of: union_all(
    select(item_snoozes.c.item_id, item_snoozes.c.until, type_coerce(null(), item_exemptions.c.rule.type).label("rule"))
    .where(item_snoozes.c.tracker == bindparam("tracker"), one_of(item_snoozes.c.item_id),
           item_snoozes.c.until > bindparam("now")),
    select(item_exemptions.c.item_id, null(), item_exemptions.c.rule)
    .where(item_exemptions.c.tracker == bindparam("tracker"), one_of(item_exemptions.c.item_id)),
))


class Snoozes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def snooze(self, tracker: str, item_id: str, item_key: str, until: datetime, by: str | None,
               comment_id: str | None, now: datetime) -> None:
        values = {"item_key": item_key, "until": until, "by": by, "comment_id": comment_id, "created_at": now}
        where = (item_snoozes.c.tracker == tracker, item_snoozes.c.item_id == item_id)
        with self.engine.begin() as conn:
            if conn.execute(update(item_snoozes).where(*where).values(**values)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert(item_snoozes).values(tracker=tracker, item_id=item_id, **values))
            except IntegrityError:
                conn.execute(update(item_snoozes).where(*where).values(**values))

    def unsnooze(self, tracker: str, item_id: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(item_snoozes).where(
                item_snoozes.c.tracker == tracker, item_snoozes.c.item_id == item_id)).rowcount)

    def exempt(self, tracker: str, item_id: str, item_key: str, rule: str, by: str | None,
               comment_id: str | None, now: datetime) -> bool:
        """True when newly exempted; an item already exempt from the rule stays as it was."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(item_exemptions).values(
                    tracker=tracker, item_id=item_id, item_key=item_key, rule=rule, by=by,
                    comment_id=comment_id, created_at=now))
            return True
        except IntegrityError:
            return False

    def unexempt(self, tracker: str, item_id: str, rule: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(item_exemptions).where(
                item_exemptions.c.tracker == tracker, item_exemptions.c.item_id == item_id,
                item_exemptions.c.rule == rule)).rowcount)

    def for_item(self, tracker: str, item_id: str, now: datetime) -> ItemPause:
        return self.for_items(tracker, [item_id], now).get(item_id, ItemPause())

    def for_items(self, tracker: str, item_ids: Iterable[str], now: datetime,
                  conn: Connection | None = None) -> dict[str, ItemPause]:
        """Pauses of many items in one query (a sweep page at a time); with `conn`, on the caller's connection."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return {}
        snoozed: dict[str, datetime] = {}
        exempt: dict[str, set[str]] = {}
        with reading(self.engine, conn) as conn:
            for r in _PAUSES.execute(conn, ids, {"tracker": tracker, "now": now}):
                if r.rule is None:
                    snoozed[r.item_id] = r.until
                else:
                    exempt.setdefault(r.item_id, set()).add(r.rule)
        return {
            i: ItemPause(snoozed.get(i), frozenset(exempt.get(i, ())))
            for i in ids if i in snoozed or i in exempt
        }
