"""Named leases held across processes and machines: one sweep per rule and tracker.

A lease has an owner token (the sweep run's id) and an expiry. Only the owner may extend
or release it, so a run whose lease lapsed (its worker died) cannot release the lease a
newer run took meanwhile. With Redis that is redis-py's `Lock` (the owner is its token);
without Redis a row in `sweep_locks` does the same through one conditional statement.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis
from redis.exceptions import LockError
from redis.lock import Lock
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from integration.store.sweep_tables import sweep_locks

KEY_PREFIX = "flowkeeper:lease:"

class Leases(Protocol):
    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take the lease if nobody holds it (or the holder's expired)."""

    def extend(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Renew a lease we hold; False when it lapsed or someone else holds it now."""

    def release(self, name: str, owner: str) -> bool:
        """Give a lease back; a lease held by another owner is left alone."""

    def holder(self, name: str) -> str | None:
        """The owner holding `name` now, if any."""


class RedisLeases:
    """redis-py's `Lock`, non-blocking, with the run's id as the token: `SET NX PX` to take, and
    its compare-and-act scripts to extend and release, so only the owner does either."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def _lock(self, name: str, ttl: timedelta, owner: str | None = None) -> Lock:
        lock = Lock(self.redis, KEY_PREFIX + name, timeout=_seconds(ttl), blocking=False, thread_local=False)
        if owner is not None:  # the token any step of the run, in any process, holds the lease by
            lock.local.token = owner.encode()
        return lock

    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        return self._lock(name, ttl).acquire(token=owner)

    def extend(self, name: str, owner: str, ttl: timedelta) -> bool:
        try:
            return self._lock(name, ttl, owner).extend(_seconds(ttl), replace_ttl=True)
        except LockError:  # lapsed, or another run holds it now
            return False

    def release(self, name: str, owner: str) -> bool:
        try:
            self._lock(name, timedelta(seconds=1), owner).release()
        except LockError:
            return False
        return True

    def holder(self, name: str) -> str | None:
        value = self.redis.get(KEY_PREFIX + name)
        return value.decode() if isinstance(value, bytes) else value


class DatabaseLeases:
    """The embedded default's leases: every statement is conditional, so racing processes agree."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))

    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sweep_locks).values(name=name, owner=owner, expires_at=now + ttl))
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(sweep_locks)
                .where(sweep_locks.c.name == name, sweep_locks.c.expires_at <= now)
                .values(owner=owner, expires_at=now + ttl)
            ).rowcount
        return taken == 1

    def extend(self, name: str, owner: str, ttl: timedelta) -> bool:
        now = self.clock()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sweep_locks)
                .where(sweep_locks.c.name == name, sweep_locks.c.owner == owner, sweep_locks.c.expires_at > now)
                .values(expires_at=now + ttl)
            ).rowcount
        return done == 1

    def release(self, name: str, owner: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(sweep_locks).where(sweep_locks.c.name == name, sweep_locks.c.owner == owner)
            ).rowcount
        return done == 1

    def holder(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sweep_locks.c.owner, sweep_locks.c.expires_at).where(sweep_locks.c.name == name)
            ).first()
        return row.owner if row is not None and row.expires_at > self.clock() else None


def leases_for(connection: redis.Redis | None, engine: Engine) -> Leases:
    """Redis when the deployment has it (shared by every machine), else the database."""
    return RedisLeases(connection) if connection is not None else DatabaseLeases(engine)


def _seconds(ttl: timedelta) -> float:
    return max(0.001, ttl.total_seconds())
