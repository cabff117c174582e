"""Durable hand-off from the receiver to the workers.

`submit` stores the delivery's dedupe mark and its job in one atomic step, so a crash
between "seen" and "queued" cannot happen: with Redis, the job id *is* the dedupe mark
(RQ's unique enqueue runs check-save-push as one Lua script); without Redis, one INSERT
into the deliveries table is both.
"""

from __future__ import annotations

import hashlib
import ssl
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis
from rq import Callback, Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from integration.store.deliveries import Deliveries

QUEUE_NAME = "flowkeeper"
JOB_FUNC = "integration.jobs.process_delivery"
ON_FAILURE = Callback("integration.jobs.mark_delivery_failed")
JOB_RETRY = Retry(max=6, interval=[10, 30, 120, 600, 1800, 3600])
DEDUPE_WINDOW = timedelta(days=2)  # Jira retries for ~30 min, Linear for up to 6 h


class QueueUnavailable(Exception):
    """The queue cannot take the delivery now: answer 503 so the tracker retries."""


class DeliveryQueue(Protocol):
    def submit(self, tracker: str, delivery_id: str, envelope: dict[str, Any], now: datetime) -> bool:
        """True when queued, False when this delivery was seen before."""

    def ping(self) -> None:
        """Raise QueueUnavailable when the queue cannot be reached."""


def redis_connection(url: str) -> redis.Redis:
    """Fail fast when Redis is away; accept Heroku's self-signed `rediss://` certificates."""
    options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 5, "health_check_interval": 30}
    if urlsplit(url).scheme == "rediss":
        options["ssl_cert_reqs"] = ssl.CERT_NONE
    return redis.Redis.from_url(url, **options)


def job_id_for(tracker: str, delivery_id: str) -> str:
    digest = hashlib.sha256(f"{tracker}\x1f{delivery_id}".encode()).hexdigest()[:32]
    return f"fk-{tracker}-{digest}"


class RedisDeliveryQueue:
    def __init__(self, connection: redis.Redis, name: str = QUEUE_NAME) -> None:
        self.connection = connection
        self.queue = Queue(name, connection=connection)
        self._registered = False

    def submit(self, tracker: str, delivery_id: str, envelope: dict[str, Any], now: datetime) -> bool:
        job = Job.create(
            JOB_FUNC,
            args=(envelope,),
            id=job_id_for(tracker, delivery_id),
            connection=self.connection,
            retry=JOB_RETRY,
            result_ttl=int(DEDUPE_WINDOW.total_seconds()),
            failure_ttl=int(timedelta(days=30).total_seconds()),
            timeout=300,
            on_failure=ON_FAILURE,
            description=f"{tracker} delivery {delivery_id}",
        )
        try:
            with self.connection.pipeline() as registration:
                # RQ's public unique enqueue: the dedupe check, save and push run in one Lua script
                # on the connection (one round trip). The SADD registering the queue, which RQ puts
                # on the pipeline, is sent once per process, not once per delivery.
                self.queue.enqueue_job(job, pipeline=registration, unique=True)
                if not self._registered or len(registration) > 1:  # > 1: RQ queued more than the SADD
                    registration.execute()
                    self._registered = True
            return True
        except DuplicateJobError:
            return False
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {type(error).__name__}") from error

    def ping(self) -> None:
        try:
            self.connection.ping()
        except redis.RedisError as error:
            raise QueueUnavailable(f"Redis: {type(error).__name__}") from error


class DatabaseDeliveryQueue:
    """The embedded default: the deliveries table is the queue (see integration.runner)."""

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries

    def submit(self, tracker: str, delivery_id: str, envelope: dict[str, Any], now: datetime) -> bool:
        try:
            return self.deliveries.enqueue(tracker, delivery_id, envelope, now)
        except OperationalError as error:
            raise QueueUnavailable(f"database: {type(error).__name__}") from error

    def ping(self) -> None:
        try:
            with self.deliveries.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as error:
            raise QueueUnavailable(f"database: {type(error).__name__}") from error
