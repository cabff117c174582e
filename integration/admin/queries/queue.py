"""Queue health for the Overview: RQ's own registries with Redis, the deliveries table without.

Nothing here is cached: each call reads Redis (a handful of O(1) commands per queue) or
one GROUP BY over the deliveries table, which retention keeps small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from integration.queue import QUEUE_NAME
from integration.store.store import Store

STALE_HEARTBEAT_SECONDS = 120


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class Heartbeat:
    name: str
    kind: str  # worker, scheduler, cron
    state: str
    last_seen: datetime | None

    def stale(self, now: datetime) -> bool:
        return self.last_seen is None or (now - self.last_seen).total_seconds() > STALE_HEARTBEAT_SECONDS


@dataclass(frozen=True)
class QueueHealth:
    backend: str  # "redis" or "database"
    queues: list[QueueCounts] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def failed(self) -> int:
        return sum(q.failed for q in self.queues) + self.deliveries.get("failed", 0)


def queue_names(connection: redis.Redis) -> list[str]:
    names = {q.name for q in Queue.all(connection=connection)}
    return sorted(names | {QUEUE_NAME})


def redis_health(connection: redis.Redis) -> QueueHealth:
    try:
        queues = [_counts(Queue(name, connection=connection)) for name in queue_names(connection)]
        beats = _workers(connection) + _schedulers(connection, [q.name for q in queues]) + _cron(connection)
    except redis.RedisError as error:
        return QueueHealth("redis", error=f"Redis unavailable ({type(error).__name__})")
    return QueueHealth("redis", queues=queues, heartbeats=beats)


def _counts(queue: Queue) -> QueueCounts:
    c = queue.connection
    return QueueCounts(
        name=queue.name,
        queued=queue.count,
        started=StartedJobRegistry(queue=queue, connection=c).count,
        failed=FailedJobRegistry(queue=queue, connection=c).count,
        scheduled=ScheduledJobRegistry(queue=queue, connection=c).count,
        deferred=DeferredJobRegistry(queue=queue, connection=c).count,
    )


def _workers(connection: redis.Redis) -> list[Heartbeat]:
    beats = []
    for worker in Worker.all(connection=connection):
        seen = worker.last_heartbeat
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        beats.append(Heartbeat(worker.name, "worker", str(worker.get_state()), seen))
    return sorted(beats, key=lambda b: b.name)


def _schedulers(connection: redis.Redis, names: list[str]) -> list[Heartbeat]:
    """RQ's retry/interval scheduler runs inside one worker and holds a lock key per queue."""
    beats = []
    for name in names:
        holder = connection.get(RQScheduler.get_locking_key(name))
        if holder is not None:
            ttl = connection.ttl(RQScheduler.get_locking_key(name))
            inside = f" (inside worker {holder.decode(errors='replace')})" if isinstance(holder, bytes) else ""
            state = f"moves retries and delayed jobs onto {name} when they are due{inside}"
            beats.append(
                Heartbeat(f"scheduler:{name}", "scheduler", state, _now() if ttl and ttl > 0 else None)
            )
    return beats


def _cron(connection: redis.Redis) -> list[Heartbeat]:
    doing = "enqueues each scheduled sweep, reconcile, digest and retention run when it is due"
    return [Heartbeat(s.name, "cron", doing, s.last_heartbeat) for s in CronScheduler.all(connection)]


def _now() -> datetime:
    return datetime.now(UTC)


def embedded_health(store: Store) -> QueueHealth:
    """Without Redis the deliveries table is the queue and the runner thread is the worker."""
    return QueueHealth("database", deliveries=store.deliveries.counts())
