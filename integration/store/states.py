"""Rule states (episodes per item and rule), admin overrides, and small service facts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from integration.store.db import read_connection, reading, writing
from integration.store.prepared import Prepared
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


# Every decision that opens, closes or advances an episode runs these: built once
_KEPT = ("episode", "active", "opened_at", "closed_at", "steps_done", "last_action_at")
_ROWS = select(rule_states).where(
    rule_states.c.tracker == bindparam("tracker"), rule_states.c.item_id == bindparam("item_id"),
    rule_states.c.mode == bindparam("mode"), rule_states.c.rule.in_(bindparam("rules", expanding=True)))
_INSERT = insert(rule_states)
_UPDATE = update(rule_states).where(rule_states.c.id == bindparam("row_id"))


def _transition(state: dict[str, Any] | None, t: EpisodeTransition, now: datetime) -> dict[str, Any] | None:
    """A rule's row after an episode opened or closed (None: no row yet)."""
    opening = t.change is EpisodeChange.OPEN
    if state is None:
        return {"episode": t.episode, "active": opening, "opened_at": now if opening else None,
                "closed_at": None if opening else now, "steps_done": [], "last_action_at": None}
    if opening and state["active"] and state["episode"] >= t.episode:
        return state  # a racing evaluation already opened this episode
    if opening:
        return {**state, "episode": t.episode, "active": True, "opened_at": now, "closed_at": None, "steps_done": []}
    return {**state, "active": False, "closed_at": now}


def _step(state: dict[str, Any] | None, episode: int, step: str, now: datetime) -> dict[str, Any] | None:
    """A rule's row after a step of `episode` was done: its time is when it was first done."""
    if state is None:
        return {"episode": episode, "active": True, "opened_at": now, "closed_at": None,
                "steps_done": {step: now.isoformat()}, "last_action_at": now}
    if state["episode"] != episode:
        return state
    done = {s: at.isoformat() if at else None for s, at in steps_times(state["steps_done"]).items()}
    done.setdefault(step, now.isoformat())
    return {**state, "steps_done": done, "last_action_at": now}


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
        in the caller's transaction: the executor writes them with the decisions' audit entries).

        The rules' rows are read in one statement and each is written once with what all its changes
        come to: the executor holds SQLite's write lock for this, and every other worker waits."""
        changes: dict[str, list[EpisodeTransition | tuple[int, str]]] = {}
        for t in transitions:
            changes.setdefault(t.rule, []).append(t)
        for rule, episode, step in steps_done:
            changes.setdefault(rule, []).append((episode, step))
        if not changes:
            return
        which = {"tracker": tracker, "item_id": item_id, "mode": mode}
        with writing(self.engine, conn) as conn:
            rows = {row.rule: row for row in conn.execute(_ROWS, {**which, "rules": sorted(changes)})}
            for rule in sorted(changes):  # one order: PostgreSQL writers never wait on each other's rows crosswise
                row = rows.get(rule)
                state = None if row is None else {c: getattr(row, c) for c in _KEPT}
                for change in changes[rule]:
                    if isinstance(change, EpisodeTransition):
                        state = _transition(state, change, now)
                    else:
                        state = _step(state, *change, now)
                if state is None:
                    continue
                if row is None:
                    conn.execute(_INSERT, {**which, "item_key": item_key, "rule": rule, **state})
                elif any(state[c] != getattr(row, c) for c in _KEPT):
                    conn.execute(_UPDATE, {"row_id": row.id, **state})

    def active(self, rule: str | None = None, mode: str | None = None) -> list[dict[str, Any]]:
        query = select(rule_states).where(rule_states.c.active.is_(True))
        if rule:
            query = query.where(rule_states.c.rule == rule)
        if mode:
            query = query.where(rule_states.c.mode == mode)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(rule_states.c.opened_at))]


_ALL_OVERRIDES = Prepared(select(overrides))  # read by every job: compiled once, on the driver's cursor


class Overrides:
    """Admin toggles: they win over the rule file and take effect on the next event."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self, conn: Connection | None = None) -> dict[str, dict[str, bool]]:
        with reading(self.engine, conn) as conn:
            rows = _ALL_OVERRIDES.rows(conn)
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
