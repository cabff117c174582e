"""Sweep runs: one row per sweep, advanced by its page and apply jobs.

Every step is conditional on the run's recorded progress (`pages`, `chunks`, `state`),
so a retried or duplicated job finds its work already done and does nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from integration.store.sweep_tables import sweep_runs

ACTIVE = ("planning", "deciding", "applying")


@dataclass(frozen=True)
class Run:
    id: str
    rule: str
    tracker: str
    trigger: str
    state: str
    as_of: datetime
    query: Mapping[str, Any]
    dry_run: bool
    pages: int
    next_token: str | None
    candidates: int
    chunks: int
    started_at: datetime
    heartbeat_at: datetime
    stats: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None
    finished_at: datetime | None = None

    @property
    def lease(self) -> str:
        return lease_name(self.rule, self.tracker)


def lease_name(rule: str, tracker: str) -> str:
    return f"sweep:{tracker}:{rule}"


def _run(row: Any) -> Run:
    return Run(
        id=row.id, rule=row.rule, tracker=row.tracker, trigger=row.trigger, state=row.state, as_of=row.as_of,
        query=row.query or {}, dry_run=bool(row.dry_run), pages=row.pages, next_token=row.next_token,
        candidates=row.candidates, chunks=row.chunks, started_at=row.started_at, heartbeat_at=row.heartbeat_at,
        stats=row.stats or {}, reason=row.reason, finished_at=row.finished_at,
    )


class SweepRuns:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, run_id: str, rule: str, tracker: str, trigger: str, as_of: datetime,
               query: Mapping[str, Any], dry_run: bool) -> Run:
        values = {"id": run_id, "rule": rule, "tracker": tracker, "trigger": trigger, "state": "planning",
                  "as_of": as_of, "query": dict(query), "dry_run": int(dry_run), "pages": 0, "next_token": None,
                  "candidates": 0, "chunks": 0, "stats": {}, "started_at": as_of, "heartbeat_at": as_of}
        with self.engine.begin() as conn:
            conn.execute(insert(sweep_runs).values(**values))
        return self.get(run_id)

    def get(self, run_id: str) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(select(sweep_runs).where(sweep_runs.c.id == run_id)).first()
        if row is None:
            raise KeyError(f"no sweep run {run_id}")
        return _run(row)

    def last_started(self, rule: str, tracker: str) -> datetime | None:
        query = select(func.max(sweep_runs.c.started_at)).where(
            sweep_runs.c.rule == rule, sweep_runs.c.tracker == tracker
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def finished(self, rule: str, tracker: str, since: datetime) -> list[Run]:
        """Runs of the rule on the tracker that went through every page and finished, started since `since`,
        newest first."""
        query = (select(sweep_runs)
                 .where(sweep_runs.c.rule == rule, sweep_runs.c.tracker == tracker, sweep_runs.c.state == "done",
                        sweep_runs.c.started_at >= since)
                 .order_by(sweep_runs.c.started_at.desc()))
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def active(self, rule: str, tracker: str) -> list[Run]:
        query = select(sweep_runs).where(
            sweep_runs.c.rule == rule, sweep_runs.c.tracker == tracker, sweep_runs.c.state.in_(ACTIVE)
        )
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def recent(self, limit: int = 50, rule: str | None = None) -> list[Run]:
        query = select(sweep_runs).order_by(sweep_runs.c.started_at.desc()).limit(limit)
        if rule:
            query = query.where(sweep_runs.c.rule == rule)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def advance_page(self, run: Run, next_token: str | None, found: int, stats: Mapping[str, int],
                     now: datetime) -> bool:
        """Record page `run.pages` as done; False when another attempt already recorded it."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sweep_runs)
                .where(sweep_runs.c.id == run.id, sweep_runs.c.pages == run.pages, sweep_runs.c.state == "planning")
                .values(pages=run.pages + 1, next_token=next_token, candidates=run.candidates + found,
                        stats=_added(run.stats, stats), heartbeat_at=now)
            ).rowcount
        return done == 1

    def advance_chunk(self, run: Run, stats: Mapping[str, int], now: datetime,
                      kept: Mapping[str, int] | None = None) -> bool:
        """Count a chunk's `stats` in; `kept` are figures replaced rather than added (safe: only the
        step that read `run` at this chunk can move it on)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sweep_runs)
                .where(sweep_runs.c.id == run.id, sweep_runs.c.chunks == run.chunks, sweep_runs.c.state == "applying")
                .values(chunks=run.chunks + 1, stats={**_added(run.stats, stats), **(kept or {})}, heartbeat_at=now)
            ).rowcount
        return done == 1

    def move(self, run: Run, state: str, now: datetime, *, reason: str | None = None,
             stats: Mapping[str, int] | None = None, finished: bool = False) -> bool:
        """Change state only from the state `run` was read in (no lost updates between jobs)."""
        values: dict[str, Any] = {"state": state, "heartbeat_at": now}
        if reason is not None:
            values["reason"] = reason
        if stats:
            values["stats"] = _added(run.stats, stats)
        if finished:
            values["finished_at"] = now
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sweep_runs).where(sweep_runs.c.id == run.id, sweep_runs.c.state == run.state).values(**values)
            ).rowcount
        return done == 1

    def note(self, run_id: str, key: str, now: datetime) -> None:
        """Count an event on a run (e.g. a start refused because this run still holds the lease)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(sweep_runs.c.stats).where(sweep_runs.c.id == run_id)).first()
            if row is not None:
                conn.execute(update(sweep_runs).where(sweep_runs.c.id == run_id)
                             .values(stats=_added(row.stats or {}, {key: 1})))


def _added(base: Mapping[str, int], delta: Mapping[str, int]) -> dict[str, int]:
    out = dict(base)
    for key, value in delta.items():
        out[key] = int(out.get(key, 0)) + int(value)
    return out
