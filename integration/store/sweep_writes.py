"""Planned sweep writes and held batches: the write budget's queue and the approval inbox.

A sweep first plans every candidate, then applies the planned writes oldest first. A
write the budget could not afford stays queued with its original planning time, so the
next run does it first; a sweep that would change too much holds its writes in a batch
that waits for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from integration.store.sweep_tables import held_batches, sweep_writes

UNFINISHED = ("planned", "retrying", "deferred")  # retrying: a write failed for a reason that may pass


@dataclass(frozen=True)
class PlannedWrite:
    id: int
    tracker: str
    item_id: str
    item_key: str
    rule: str
    run_id: str
    state: str
    plan: Mapping[str, Any]
    writes: int
    summary: str
    batch_id: int | None
    first_planned_at: datetime


@dataclass(frozen=True)
class HeldBatch:
    id: int
    rule: str
    tracker: str
    run_id: str
    state: str
    items: int
    scope: int
    reason: str
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    result: Mapping[str, Any] | None = None


def _write(row: Any) -> PlannedWrite:
    return PlannedWrite(id=row.id, tracker=row.tracker, item_id=row.item_id, item_key=row.item_key, rule=row.rule,
                        run_id=row.run_id, state=row.state, plan=row.plan, writes=row.writes, summary=row.summary,
                        batch_id=row.batch_id, first_planned_at=row.first_planned_at)


def _batch(row: Any) -> HeldBatch:
    return HeldBatch(id=row.id, rule=row.rule, tracker=row.tracker, run_id=row.run_id, state=row.state,
                     items=row.items, scope=row.scope, reason=row.reason, created_at=row.created_at,
                     decided_at=row.decided_at, decided_by=row.decided_by, result=row.result)


class SweepWrites:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stage(self, run_id: str, tracker: str, item_id: str, item_key: str, rule: str, plan: Mapping[str, Any],
              writes: int, summary: str, now: datetime) -> None:
        """Queue an item's writes for this run; unfinished work keeps its place in the line."""
        values = {"run_id": run_id, "item_key": item_key, "state": "planned", "plan": dict(plan), "writes": writes,
                  "summary": summary, "batch_id": None, "updated_at": now}
        where = (sweep_writes.c.tracker == tracker, sweep_writes.c.item_id == item_id, sweep_writes.c.rule == rule)
        with self.engine.begin() as conn:
            row = conn.execute(select(sweep_writes.c.id, sweep_writes.c.state).where(*where)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(sweep_writes).values(tracker=tracker, item_id=item_id, rule=rule,
                                                                 first_planned_at=now, **values))
                    return
                except IntegrityError:  # a racing run staged it first
                    row = conn.execute(select(sweep_writes.c.id, sweep_writes.c.state).where(*where)).one()
            if row.state not in UNFINISHED:
                values["first_planned_at"] = now  # finished work: this is a new place in the line
            conn.execute(update(sweep_writes).where(sweep_writes.c.id == row.id).values(**values))

    def next_for_run(self, run_id: str, limit: int) -> list[PlannedWrite]:
        query = (
            select(sweep_writes)
            .where(sweep_writes.c.run_id == run_id, sweep_writes.c.state == "planned")
            .order_by(sweep_writes.c.first_planned_at, sweep_writes.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_write(r) for r in conn.execute(query)]

    def count(self, run_id: str, state: str = "planned") -> int:
        query = select(func.count()).where(sweep_writes.c.run_id == run_id, sweep_writes.c.state == state)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def mark(self, write_id: int, state: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sweep_writes).where(sweep_writes.c.id == write_id).values(state=state, updated_at=now))

    def defer_rest(self, run_id: str, now: datetime) -> int:
        """What this run did not get to (or kept failing to write) waits for the next one, first in line."""
        return self._move(run_id, ("planned", "retrying"), "deferred", now)

    def retry(self, run_id: str, now: datetime) -> int:
        """The writes that failed for a reason that may pass are tried again, in their place in the line."""
        return self._move(run_id, ("retrying",), "planned", now)

    def hold(self, run_id: str, batch_id: int, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(sweep_writes)
                .where(sweep_writes.c.run_id == run_id, sweep_writes.c.state == "planned")
                .values(state="held", batch_id=batch_id, updated_at=now)
            ).rowcount or 0

    def supersede_stale(self, rule: str, tracker: str, run_id: str, now: datetime) -> int:
        """Queued writes of earlier runs for items this run no longer plans are obsolete."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(sweep_writes)
                .where(sweep_writes.c.rule == rule, sweep_writes.c.tracker == tracker,
                       sweep_writes.c.run_id != run_id, sweep_writes.c.state.in_(UNFINISHED))
                .values(state="superseded", updated_at=now)
            ).rowcount or 0

    def for_batch(self, batch_id: int, state: str | None = None) -> list[PlannedWrite]:
        query = select(sweep_writes).where(sweep_writes.c.batch_id == batch_id).order_by(sweep_writes.c.id)
        if state:
            query = query.where(sweep_writes.c.state == state)
        with self.engine.connect() as conn:
            return [_write(r) for r in conn.execute(query)]

    def pending(self, rule: str | None = None) -> list[PlannedWrite]:
        """Deferred writes waiting for the next run (for the admin page and `held list`)."""
        query = select(sweep_writes).where(sweep_writes.c.state == "deferred").order_by(sweep_writes.c.first_planned_at)
        if rule:
            query = query.where(sweep_writes.c.rule == rule)
        with self.engine.connect() as conn:
            return [_write(r) for r in conn.execute(query)]

    def _move(self, run_id: str, old: tuple[str, ...], new: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(sweep_writes)
                .where(sweep_writes.c.run_id == run_id, sweep_writes.c.state.in_(old))
                .values(state=new, updated_at=now)
            ).rowcount or 0


class HeldBatches:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, rule: str, tracker: str, run_id: str, items: int, scope: int, reason: str,
               now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(held_batches).values(
                rule=rule, tracker=tracker, run_id=run_id, state="pending", items=items, scope=scope,
                reason=reason, created_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def get(self, batch_id: int) -> HeldBatch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(held_batches).where(held_batches.c.id == batch_id)).first()
        return _batch(row) if row is not None else None

    def waiting(self, rule: str, tracker: str) -> HeldBatch | None:
        """A batch of this rule still waiting for a decision: its sweeps pause until then."""
        query = (select(held_batches)
                 .where(held_batches.c.rule == rule, held_batches.c.tracker == tracker,
                        held_batches.c.state.in_(("pending", "approving")))
                 .order_by(held_batches.c.id).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _batch(row) if row is not None else None

    def list(self, state: str | None = None, limit: int = 100) -> list[HeldBatch]:
        query = select(held_batches).order_by(held_batches.c.id.desc()).limit(limit)
        if state:
            query = query.where(held_batches.c.state == state)
        with self.engine.connect() as conn:
            return [_batch(r) for r in conn.execute(query)]

    def save_result(self, batch_id: int, result: Mapping[str, Any]) -> None:
        """The approval's result so far, item by item: the Held page follows an approval under way."""
        with self.engine.begin() as conn:
            conn.execute(update(held_batches).where(held_batches.c.id == batch_id).values(result=dict(result)))

    def decide(self, batch_id: int, from_states: tuple[str, ...], state: str, by: str, now: datetime,
               result: Mapping[str, Any] | None = None) -> bool:
        """Move a batch on only from an expected state: two admins cannot approve it twice."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(held_batches)
                .where(held_batches.c.id == batch_id, held_batches.c.state.in_(from_states))
                .values(state=state, decided_by=by, decided_at=now,
                        **({"result": dict(result)} if result is not None else {}))
            ).rowcount
        return done == 1
