"""Write claims: a unique row per (item, rule, episode, step, action) taken before each write.

A second worker, a retried job or a sweep racing the webhook path finds the claim and
does nothing. A claim whose write failed may be taken again; one in flight for longer
than `stale_after` (its worker died) may be taken over, and the comment marker makes
that second attempt harmless.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from integration.store.db import writing
from integration.store.tables import write_claims

# Every write runs these: built once (building a statement costs more CPU than SQLite takes to run
# it, and the claim's outcome is written while the database's write lock is held)
_CLAIM = insert(write_claims)
_FINISH = update(write_claims).where(
    write_claims.c.tracker == bindparam("of_tracker"),
    write_claims.c.item_id == bindparam("of_item"),
    write_claims.c.identity == bindparam("of_identity"),
)


class ClaimResult(str, enum.Enum):
    CLAIMED = "claimed"
    ALREADY_DONE = "already_done"
    IN_FLIGHT = "in_flight"


class Claims:
    def __init__(self, engine: Engine, stale_after: timedelta = timedelta(minutes=10)) -> None:
        self.engine = engine
        self.stale_after = stale_after

    def claim(self, tracker: str, item_id: str, identity: str, now: datetime) -> ClaimResult:
        try:
            taking = {"tracker": tracker, "item_id": item_id, "identity": identity, "state": "claimed",
                      "claimed_at": now}
            with self.engine.begin() as conn:
                conn.execute(_CLAIM, taking)
            return ClaimResult.CLAIMED
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(
                select(write_claims.c.id, write_claims.c.state, write_claims.c.claimed_at).where(
                    write_claims.c.tracker == tracker,
                    write_claims.c.item_id == item_id,
                    write_claims.c.identity == identity,
                )
            ).one()
            if row.state == "done":
                return ClaimResult.ALREADY_DONE
            if row.state == "claimed" and now - row.claimed_at < self.stale_after:
                return ClaimResult.IN_FLIGHT
            taken = conn.execute(
                update(write_claims)
                .where(write_claims.c.id == row.id, write_claims.c.state == row.state,
                       write_claims.c.claimed_at == row.claimed_at)
                .values(state="claimed", claimed_at=now)
            ).rowcount
            return ClaimResult.CLAIMED if taken == 1 else ClaimResult.IN_FLIGHT

    def finish(self, tracker: str, item_id: str, identity: str, ok: bool, now: datetime,
               conn: Connection | None = None) -> None:
        """The write's outcome; with `conn`, in the caller's transaction (the executor's decisions)."""
        values = {"of_tracker": tracker, "of_item": item_id, "of_identity": identity,
                  "state": "done" if ok else "failed", "finished_at": now}
        with writing(self.engine, conn) as conn:
            conn.execute(_FINISH, values)

    def claimed_before(self, tracker: str, item_id: str, identity: str) -> bool:
        """Whether any attempt at this write was ever claimed (then it may have reached the tracker)."""
        query = select(write_claims.c.id).where(
            write_claims.c.tracker == tracker,
            write_claims.c.item_id == item_id,
            write_claims.c.identity == identity,
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def purge_before(self, identity_prefix: str, cutoff: datetime) -> int:
        """Forget claims of one kind taken before `cutoff`: only for claims that matter for a bounded time."""
        query = delete(write_claims).where(
            write_claims.c.identity.startswith(identity_prefix, autoescape=True),
            write_claims.c.claimed_at < cutoff,
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount
