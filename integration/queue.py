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
from rq.job import Job, JobStatus
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from integration.held_script import HeldScript, Unreachable
from integration.store.deliveries import Deliveries
from integration.utc_text import rq_utc
from rules.model import Tracker

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


# A job's fields that are the same for every delivery; the per-delivery ones are sent with it.
_PER_JOB_FIELDS = ("data", "created_at", "enqueued_at", "description")


def _lua_string(value: object) -> str:
    """A Lua string literal of a job field as RQ hands it to Redis (a str enum by its value)."""
    value = str.__str__(value) if isinstance(value, str) else str(value)
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"job field {value!r} cannot be written into the enqueue script")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _description(tracker: str, delivery_id: str) -> str:
    return f"{tracker} delivery {delivery_id}"


def is_delivery(description: object) -> bool:
    """Whether an RQ job's description names a delivery's job (`<tracker> delivery <id>`)."""
    tracker, named, _ = str(description).partition(" delivery ")
    return bool(named) and tracker in _TRACKERS


_TRACKERS = frozenset(t.value for t in Tracker)


class RedisDeliveryQueue:
    """Jobs RQ's workers run, written by one Lua script per delivery, on a connection each
    process keeps for it (`HeldScript`).

    The script is RQ's unique enqueue (the job hash's existence is the dedupe mark; check,
    save and push are one atomic step) with the fields every delivery's job shares written
    into the script itself, taken once from a job RQ builds with the same options, so a
    delivery sends only its id, its data, its time and its description.

    The data (the pickled call) is stored as it is, not zlib-compressed as RQ's own enqueue
    does: compressing a Jira body took the receiver more instructions than anything else it
    does. RQ reads uncompressed data as well, and its worker saves the job again, compressed,
    when the job ends, so what the two-day dedupe window keeps is compressed all the same;
    only a job still waiting in the queue is its full size (about 11 KB for a Jira update
    against 3 KB).
    """

    def __init__(self, connection: redis.Redis, name: str = QUEUE_NAME) -> None:
        self.connection = connection
        self.queue = Queue(name, connection=connection)
        template = self._rq_job("template", "template", {})
        self._serializer = template.serializer
        shared = {key: value for key, value in template.to_dict().items()
                  if key not in _PER_JOB_FIELDS and value is not None and value != ""}
        fields = ", ".join(f"{_lua_string(key)}, {_lua_string(value)}" for key, value in shared.items())
        expire = f'redis.call("EXPIRE", KEYS[1], {int(template.ttl)})\n' if template.ttl else ""
        self._enqueue = HeldScript(connection,
            'if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end\n'
            'redis.call("HSET", KEYS[1], "data", ARGV[2], "created_at", ARGV[3], "enqueued_at", ARGV[3], '
            f'"description", ARGV[4], {fields})\n'
            f"{expire}"
            'redis.call("RPUSH", KEYS[2], ARGV[1])\n'
            'redis.call("SADD", KEYS[3], KEYS[2])\n'
            "return 1\n",
        )
        self._keys = (self.queue.key, self.queue.redis_queues_keys)

    def _rq_job(self, tracker: str, delivery_id: str, envelope: dict[str, Any]) -> Job:
        """The job as RQ itself builds it for a delivery (the template of every delivery's job)."""
        return Job.create(
            JOB_FUNC,
            args=(envelope,),
            id=job_id_for(tracker, delivery_id),
            connection=self.connection,
            retry=JOB_RETRY,
            result_ttl=int(DEDUPE_WINDOW.total_seconds()),
            failure_ttl=int(timedelta(days=30).total_seconds()),
            timeout=300,
            on_failure=ON_FAILURE,
            description=_description(tracker, delivery_id),
            origin=self.queue.name,
            status=JobStatus.QUEUED,
        )

    def submit(self, tracker: str, delivery_id: str, envelope: dict[str, Any], now: datetime) -> bool:
        job_id = job_id_for(tracker, delivery_id)
        data = self._serializer.dumps((JOB_FUNC, None, (envelope,), {}))  # what RQ's Job.data holds
        try:
            return bool(self._enqueue(keys=(Job.key_for(job_id), *self._keys),
                                      args=(job_id, data, rq_utc(now), _description(tracker, delivery_id))))
        except Unreachable as error:
            raise QueueUnavailable(f"Redis did not answer: {error}") from error
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
