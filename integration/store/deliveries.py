"""Processed deliveries: the second line of dedupe, the embedded queue, and every outcome.

With Redis the receiver dedupes atomically in Redis; the worker still records each
delivery here so a job retried after its Redis record expired is not processed twice.
Without Redis this table *is* the queue: the receiver inserts before answering 200 and
the in-process runner works from it, so a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from integration.codec import envelope_item_key
from integration.store.db import writing
from integration.store.inserts import insert_new
from integration.store.prepared import Prepared
from integration.store.tables import deliveries

TERMINAL = ("done", "failed")

# Every job runs these: built once (building a statement costs more CPU than running it)
_ONE = (deliveries.c.tracker == bindparam("of_tracker"), deliveries.c.delivery_id == bindparam("of_delivery"))
_AGAIN = (update(deliveries).where(*_ONE, deliveries.c.state.not_in(TERMINAL))
          .values(state="processing", attempts=deliveries.c.attempts + 1))
_SETTLE = Prepared(update(deliveries).where(*_ONE))  # on the driver's cursor


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    tracker: str
    delivery_id: str
    state: str
    attempts: int
    envelope: dict[str, Any] | None


class Deliveries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, tracker: str, delivery_id: str, envelope: dict[str, Any], now: datetime) -> bool:
        """Durably store a pending delivery; False when it was seen before (a duplicate)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(deliveries).values(
                        tracker=tracker,
                        delivery_id=delivery_id,
                        received_at=now,
                        state="pending",
                        attempts=0,
                        envelope=envelope,
                        item_key=envelope_item_key(envelope),
                    )
                )
            return True
        except IntegrityError:
            return False

    def begin(self, tracker: str, delivery_id: str, now: datetime, item_key: str | None = None,
              conn: Connection | None = None) -> bool:
        """Mark a delivery as being processed; False when it already reached a terminal state.

        A first attempt inserts its row; a retried one (its row there, not terminal) counts the attempt.
        With `conn`, in the caller's transaction: the job's first writes (its mirror row), so a job
        that changes nothing else takes SQLite's write lock once less."""
        with writing(self.engine, conn) as conn:
            first = {"tracker": tracker, "delivery_id": delivery_id, "received_at": now, "state": "processing",
                     "attempts": 1, "item_key": item_key}
            if insert_new(conn, deliveries, first, "tracker", "delivery_id"):
                return True
            return bool(conn.execute(_AGAIN, {"of_tracker": tracker, "of_delivery": delivery_id}).rowcount)

    def finish(self, tracker: str, delivery_id: str, state: str, outcome: str, now: datetime,
               conn: Connection | None = None) -> None:
        """The delivery's terminal state; with `conn`, committed with the caller's last writes (the job's
        audit entries), so a crash leaves both or neither."""
        with writing(self.engine, conn) as conn:
            _SETTLE.rowcount(conn, {"of_tracker": tracker, "of_delivery": delivery_id, "state": state,
                                    "outcome": outcome[:2000], "finished_at": now})

    def release(self, tracker: str, delivery_id: str, outcome: str, conn: Connection | None = None) -> None:
        """Give a delivery back to the queue after a transient failure."""
        with writing(self.engine, conn) as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.tracker == tracker, deliveries.c.delivery_id == delivery_id)
                .values(state="pending", outcome=outcome[:2000])
            )

    def next_pending(self, limit: int = 20, include_processing: bool = False) -> list[Delivery]:
        """Oldest first. At start-up `include_processing` resumes what a crash interrupted."""
        states = ["pending", "processing"] if include_processing else ["pending"]
        query = (
            select(deliveries)
            .where(deliveries.c.state.in_(states), deliveries.c.envelope.is_not(None))
            .order_by(deliveries.c.received_at, deliveries.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                Delivery(r.id, r.tracker, r.delivery_id, r.state, r.attempts, r.envelope) for r in conn.execute(query)
            ]

    def state_of(self, tracker: str, delivery_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(deliveries.c.state).where(
                    deliveries.c.tracker == tracker, deliveries.c.delivery_id == delivery_id
                )
            ).scalar()

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
            return {r[0]: int(r[1]) for r in rows}

    def last_received(self, tracker: str) -> dict[str, Any] | None:
        query = (
            select(deliveries.c.received_at, deliveries.c.state, deliveries.c.outcome, deliveries.c.item_key)
            .where(deliveries.c.tracker == tracker)
            .order_by(deliveries.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def purge_before(self, cutoff: datetime) -> int:
        """Retention: terminal deliveries older than `cutoff` (never pending ones)."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(deliveries).where(deliveries.c.received_at < cutoff, deliveries.c.state.in_(TERMINAL))
            ).rowcount or 0
