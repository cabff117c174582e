"""Rule states (episodes per item and rule), admin overrides, and small service facts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from integration.store.db import read_connection, reading, writing
from integration.store.tables import overrides, rule_states, service_state
from rules.model import EpisodeChange, EpisodeTransition, RuleState


def steps_times(raw: Any) -> dict[str, datetime | None]:
    """The `steps_done` column: step id → when it was done. Rows written before the times were
    kept hold a list of ids (times unknown)."""
    if isinstance(raw, dict):
        return {str(s): datetime.fromisoformat(at) if at else None for s, at in raw.items()}
    return {str(s): None for s in raw or ()}


def state_from_row(row: Any) -> RuleState:
    """A `rule_states` row as the engine reads it."""
    times = steps_times(row.steps_done)
    return RuleState(rule=row.rule, episode=row.episode, active=row.active, opened_at=row.opened_at,
                     steps_done=frozenset(times), last_action_at=row.last_action_at,
                     steps_at=tuple((s, at) for s, at in sorted(times.items()) if at is not None))


class RuleStates:
    """Episodes are kept per mode: what a dry run 'would have done' never blocks a live write."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def for_item(self, tracker: str, item_id: str, mode: str) -> dict[str, RuleState]:
        query = select(rule_states).where(
            rule_states.c.tracker == tracker, rule_states.c.item_id == item_id, rule_states.c.mode == mode
        )
        with self.engine.connect() as conn:
            return {row.rule: state_from_row(row) for row in conn.execute(query)}

    def apply(
        self,
        tracker: str,
        item_id: str,
        item_key: str,
        mode: str,
        transitions: Iterable[EpisodeTransition],
        steps_done: Iterable[tuple[str, int, str]],
        now: datetime,
        conn: Connection | None = None,
    ) -> None:
        """Record opened/closed episodes and the (rule, episode, step) triples now done (with `conn`,
        in the caller's transaction: the executor writes them with the decisions' audit entries)."""
        with writing(self.engine, conn) as conn:
            for t in transitions:
                self._transition(conn, tracker, item_id, item_key, mode, t, now)
            for rule, episode, step in steps_done:
                self._step(conn, tracker, item_id, item_key, mode, rule, episode, step, now)

    def _row(self, conn: Any, tracker: str, item_id: str, mode: str, rule: str) -> Any:
        return conn.execute(
            select(rule_states).where(
                rule_states.c.tracker == tracker,
                rule_states.c.item_id == item_id,
                rule_states.c.mode == mode,
                rule_states.c.rule == rule,
            )
        ).first()

    def _transition(
        self, conn: Any, tracker: str, item_id: str, item_key: str, mode: str, t: EpisodeTransition, now: datetime
    ) -> None:
        row = self._row(conn, tracker, item_id, mode, t.rule)
        opening = t.change is EpisodeChange.OPEN
        values = (
            {"episode": t.episode, "active": True, "opened_at": now, "closed_at": None, "steps_done": []}
            if opening
            else {"active": False, "closed_at": now}
        )
        if row is None:
            conn.execute(
                insert(rule_states).values(
                    tracker=tracker, item_id=item_id, item_key=item_key, rule=t.rule, mode=mode,
                    **{"episode": t.episode, "active": opening, "opened_at": now if opening else None,
                       "steps_done": [], "closed_at": None if opening else now},
                )
            )
        elif opening and row.active and row.episode >= t.episode:
            return  # a racing evaluation already opened this episode
        else:
            conn.execute(update(rule_states).where(rule_states.c.id == row.id).values(**values))

    def _step(
        self, conn: Any, tracker: str, item_id: str, item_key: str, mode: str,
        rule: str, episode: int, step: str, now: datetime,
    ) -> None:
        row = self._row(conn, tracker, item_id, mode, rule)
        if row is None:
            conn.execute(
                insert(rule_states).values(
                    tracker=tracker, item_id=item_id, item_key=item_key, rule=rule, mode=mode, episode=episode,
                    active=True, opened_at=now, steps_done={step: now.isoformat()}, last_action_at=now,
                )
            )
            return
        if row.episode != episode:
            return
        done = {s: at.isoformat() if at else None for s, at in steps_times(row.steps_done).items()}
        done.setdefault(step, now.isoformat())  # a step's time is when it was first done
        conn.execute(update(rule_states).where(rule_states.c.id == row.id).values(steps_done=done, last_action_at=now))

    def active(self, rule: str | None = None, mode: str | None = None) -> list[dict[str, Any]]:
        query = select(rule_states).where(rule_states.c.active.is_(True))
        if rule:
            query = query.where(rule_states.c.rule == rule)
        if mode:
            query = query.where(rule_states.c.mode == mode)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(rule_states.c.opened_at))]


_ALL_OVERRIDES = select(overrides)  # read by every job: built once


class Overrides:
    """Admin toggles: they win over the rule file and take effect on the next event."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self, conn: Connection | None = None) -> dict[str, dict[str, bool]]:
        with reading(self.engine, conn) as conn:
            rows = conn.execute(_ALL_OVERRIDES)
            return {
                r.rule: {k: v for k, v in (("enabled", r.enabled), ("dry_run", r.dry_run)) if v is not None}
                for r in rows
            }

    def set(self, rule: str, now: datetime, *, enabled: bool | None = None, dry_run: bool | None = None) -> None:
        with self.engine.begin() as conn:
            exists = conn.execute(select(overrides.c.rule).where(overrides.c.rule == rule)).first()
            values = {"enabled": enabled, "dry_run": dry_run, "updated_at": now}
            if exists:
                changes = {k: v for k, v in values.items() if v is not None}
                conn.execute(update(overrides).where(overrides.c.rule == rule).values(**changes))
            else:
                conn.execute(insert(overrides).values(rule=rule, **values))

    def clear(self, rule: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(overrides).where(overrides.c.rule == rule))


class ServiceState:
    """Small facts shared by every process: last sync, the trackers' own identities."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> Any:
        """A read that never takes SQLite's write lock: the webhook receiver reads these facts."""
        with read_connection(self.engine) as conn:
            return conn.execute(select(service_state.c.value).where(service_state.c.key == key)).scalar()

    def put(self, key: str, value: Any, now: datetime) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(service_state.c.key).where(service_state.c.key == key)).first():
                conn.execute(
                    update(service_state).where(service_state.c.key == key).values(value=value, updated_at=now)
                )
            else:
                conn.execute(insert(service_state).values(key=key, value=value, updated_at=now))
