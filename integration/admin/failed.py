"""Failed jobs: RQ's failed registries with Redis, failed deliveries without it.

Requeueing a webhook job also hands its delivery back (state pending), because the
pipeline refuses a delivery that already reached a terminal state: without that, a
requeued job would answer "duplicate" and do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import delete, func, select

from integration.admin.queries.queue import queue_names
from integration.codec import envelope_item_key
from integration.queue import JOB_FUNC
from integration.store.store import Store
from integration.store.tables import deliveries

PAGE = 50
REQUEUED = "requeued from the admin page"


class JobGone(Exception):
    """The job is no longer failed (requeued or deleted meanwhile, or expired)."""


@dataclass(frozen=True)
class FailedJob:
    id: str
    source: str  # the RQ queue name, or "deliveries"
    description: str
    failed_at: datetime | None
    error: str
    item_key: str | None = None
    can_requeue: bool = True


class FailedJobs(Protocol):
    backend: str

    def count(self) -> int: ...

    def page(self, offset: int = 0, limit: int = PAGE) -> list[FailedJob]: ...

    def requeue(self, job_id: str) -> str: ...

    def delete(self, job_id: str) -> str: ...


class RedisFailedJobs:
    backend = "redis"

    def __init__(self, connection: redis.Redis, store: Store) -> None:
        self.connection, self.store = connection, store

    def _registries(self) -> list[FailedJobRegistry]:
        return [
            FailedJobRegistry(queue=Queue(name, connection=self.connection), connection=self.connection)
            for name in queue_names(self.connection)
        ]

    def count(self) -> int:
        return sum(r.count for r in self._registries())

    def page(self, offset: int = 0, limit: int = PAGE) -> list[FailedJob]:
        """Newest failures first across queues (each registry is ordered by expiry, i.e. failure time)."""
        found: list[FailedJob] = []
        for registry in self._registries():
            ids = registry.get_job_ids(0, offset + limit - 1, desc=True)
            jobs = Job.fetch_many(ids, connection=self.connection)
            found += [_from_job(job, registry.name) for job in jobs if job is not None]
        found.sort(key=lambda j: j.failed_at.timestamp() if j.failed_at else 0.0, reverse=True)
        return found[offset : offset + limit]

    def _find(self, job_id: str) -> tuple[FailedJobRegistry, Job]:
        for registry in self._registries():
            if self.connection.zscore(registry.key, job_id) is not None:
                try:
                    return registry, Job.fetch(job_id, connection=self.connection)
                except NoSuchJobError:
                    registry.remove(job_id)
        raise JobGone(job_id)

    def requeue(self, job_id: str) -> str:
        registry, job = self._find(job_id)
        envelope = _delivery_envelope(job)
        if envelope is not None:
            self.store.deliveries.release(envelope["tracker"], envelope["delivery_id"], REQUEUED)
        try:
            registry.requeue(job)
        except InvalidJobOperation as error:
            raise JobGone(job_id) from error
        return job.description or job.id

    def delete(self, job_id: str) -> str:
        registry, job = self._find(job_id)
        registry.remove(job, delete_job=True)
        return job.description or job.id


def _delivery_envelope(job: Job) -> dict[str, Any] | None:
    if job.func_name != JOB_FUNC or not job.args:
        return None
    envelope = job.args[0]
    ok = isinstance(envelope, dict) and envelope.get("tracker") and envelope.get("delivery_id")
    return envelope if ok else None


def _from_job(job: Job, queue: str) -> FailedJob:
    result = job.latest_result()
    error = (result.exc_string if result is not None and result.exc_string else "") or "(no error recorded)"
    envelope = _delivery_envelope(job)
    item = envelope_item_key(envelope) if envelope else None
    return FailedJob(
        id=job.id,
        source=queue,
        description=job.description or job.func_name or job.id,
        failed_at=job.ended_at,
        error=error,
        item_key=item,
    )


class DeliveryFailedJobs:
    """The embedded default: a failed delivery is a failed job; requeue hands it to the runner."""

    backend = "database"

    def __init__(self, store: Store) -> None:
        self.store = store

    def count(self) -> int:
        with self.store.engine.connect() as conn:
            query = select(func.count()).select_from(deliveries).where(deliveries.c.state == "failed")
            return int(conn.execute(query).scalar() or 0)

    def page(self, offset: int = 0, limit: int = PAGE) -> list[FailedJob]:
        query = (
            select(deliveries)
            .where(deliveries.c.state == "failed")
            .order_by(deliveries.c.received_at.desc(), deliveries.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            return [
                FailedJob(
                    id=str(r.id),
                    source="deliveries",
                    description=f"{r.tracker} delivery {r.delivery_id}",
                    failed_at=r.finished_at or r.received_at,
                    error=r.outcome or "(no error recorded)",
                    item_key=r.item_key,
                    can_requeue=r.envelope is not None,
                )
                for r in conn.execute(query)
            ]

    def _row(self, job_id: str) -> Any:
        if not job_id.isdigit():
            raise JobGone(job_id)
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(deliveries).where(deliveries.c.id == int(job_id), deliveries.c.state == "failed")
            ).first()
        if row is None:
            raise JobGone(job_id)
        return row

    def requeue(self, job_id: str) -> str:
        row = self._row(job_id)
        if row.envelope is None:
            raise JobGone(job_id)
        self.store.deliveries.release(row.tracker, row.delivery_id, REQUEUED)
        return f"{row.tracker} delivery {row.delivery_id}"

    def delete(self, job_id: str) -> str:
        row = self._row(job_id)
        with self.store.engine.begin() as conn:
            conn.execute(delete(deliveries).where(deliveries.c.id == row.id))
        return f"{row.tracker} delivery {row.delivery_id}"


def failed_jobs(connection: redis.Redis | None, store: Store) -> FailedJobs:
    return RedisFailedJobs(connection, store) if connection is not None else DeliveryFailedJobs(store)
