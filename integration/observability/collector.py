"""What `/metrics` reads at scrape time: the shared figures, the queue in Redis, the store.

Nothing here is kept between scrapes, so every web process on every machine answers
the same: queue depth and failed jobs come from RQ's keys, deliveries by state from the
database, and what workers counted from the shared figures. A dependency that is down
turns into `flowkeeper_up{dependency=…} 0`, never into an error page.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from prometheus_client.metrics_core import Metric
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from integration.observability.figures import Snapshot, parse_key
from integration.observability.record import figures
from integration.queue import QUEUE_NAME

log = logging.getLogger("flowkeeper.metrics")

# name → (type, help) for what processes count into the shared figures.
SHARED: dict[str, tuple[str, str]] = {
    "flowkeeper_jobs_total": (
        "counter",
        "Delivery jobs ended, by tracker and outcome (done, duplicate, retry, error).",
    ),
    "flowkeeper_job_seconds": ("histogram", "Time a worker spent on one delivery job."),
    "flowkeeper_event_lag_seconds": (
        "histogram",
        "From the tracker's event time to the job's end (receipt, queue, work).",
    ),
    "flowkeeper_writes_total": (
        "counter",
        "Executor decisions by tracker, action and outcome (done, would_do, skipped, failed, held).",
    ),
    "flowkeeper_rule_hits_total": ("counter", "Evaluations in which a rule asked for at least one action."),
    "flowkeeper_tracker_calls_total": (
        "counter",
        "Tracker API answers by outcome "
        "(ok, rate_limited, client_error, server_error, timeout, connection_error).",
    ),
    "flowkeeper_tracker_call_seconds": ("histogram", "Tracker API call duration."),
    "flowkeeper_tracker_rate_limit_remaining": (
        "gauge",
        "Requests (or complexity points) left, as the tracker last reported, per endpoint the limit covers "
        "(Jira: method and route, at most 32, then other; Linear: graphql).",
    ),
    "flowkeeper_tracker_rate_limit_observed_timestamp_seconds": (
        "gauge",
        "When the remaining rate limit was last reported.",
    ),
    "flowkeeper_db_write_transactions_total": ("counter", "SQLite write transactions begun by delivery jobs."),
    "flowkeeper_db_write_lock_waits_total": (
        "counter",
        "SQLite write transactions whose BEGIN waited for another process's write lock.",
    ),
    "flowkeeper_db_write_lock_wait_seconds_total": (
        "counter",
        "Seconds delivery jobs waited for SQLite's write lock.",
    ),
    "flowkeeper_db_write_lock_held_seconds_total": (
        "counter",
        "Seconds delivery jobs' write transactions held SQLite's write lock (BEGIN to COMMIT).",
    ),
}
_SUFFIXES = ("_bucket", "_sum", "_count")


def shared_metrics(snapshot: Snapshot) -> list[Metric]:
    """Turn stored `name␟label=value` figures into Prometheus metric families."""
    families: dict[str, Metric] = {}
    for key, value in [*snapshot.counters.items(), *snapshot.gauges.items()]:
        sample, labels = parse_key(key)
        base = _base_name(sample)
        if base not in SHARED:
            continue
        typ, help_text = SHARED[base]
        if base not in families:
            families[base] = Metric(base.removesuffix("_total") if typ == "counter" else base, help_text, typ)
        families[base].add_sample(sample, labels, value)
    for family in families.values():
        family.samples.sort(key=_sample_order)
    return list(families.values())


def _base_name(sample: str) -> str:
    for suffix in _SUFFIXES:
        if sample.endswith(suffix) and sample.removesuffix(suffix) in SHARED:
            return sample.removesuffix(suffix)
    return sample


def _sample_order(sample: Any) -> tuple[Any, ...]:
    labels = {k: v for k, v in sample.labels.items() if k != "le"}
    le = sample.labels.get("le")
    bound = float("inf") if le in (None, "+Inf") else float(le)
    return (sorted(labels.items()), sample.name.endswith("_bucket") is False, bound, sample.name)


class ScrapeCollector:
    """A prometheus-client collector bound to one process's services."""

    def __init__(self, services: Any) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        up = Metric("flowkeeper_up", "Whether a dependency answered this scrape (1) or not (0).", "gauge")
        yield from self._part(up, "shared_figures", lambda: shared_metrics(figures().read()))
        if self.services.redis is not None:
            yield from self._part(up, "redis", lambda: queue_metrics(self.services.redis))
        yield from self._part(up, "database", lambda: delivery_metrics(self.services.store))
        yield up

    def _part(self, up: Metric, name: str, read: Any) -> Iterator[Metric]:
        try:
            found = read()
        except Exception as error:  # noqa: BLE001 - a part that fails is reported as down, never a 500
            log.warning("metrics.scrape.%s_unavailable", name, extra={"error": type(error).__name__})
            up.add_sample("flowkeeper_up", {"dependency": name}, 0.0)
            return
        up.add_sample("flowkeeper_up", {"dependency": name}, 1.0)
        yield from found


def queue_metrics(connection: redis.Redis) -> list[Metric]:
    jobs = Metric(
        "flowkeeper_queue_jobs",
        "Jobs in RQ by queue and state (queued, started, failed, scheduled, deferred).",
        "gauge",
    )
    oldest = Metric(
        "flowkeeper_queue_oldest_job_age_seconds",
        "How long the job at the head of each queue has waited.",
        "gauge",
    )
    names = sorted({q.name for q in Queue.all(connection=connection)} | {QUEUE_NAME})
    for name in names:
        queue = Queue(name, connection=connection)
        counts = {
            "queued": queue.count,
            "started": StartedJobRegistry(queue=queue, connection=connection).get_job_count(cleanup=False),
            "failed": FailedJobRegistry(queue=queue, connection=connection).get_job_count(cleanup=False),
            "scheduled": ScheduledJobRegistry(queue=queue, connection=connection).get_job_count(
                cleanup=False
            ),
            "deferred": DeferredJobRegistry(queue=queue, connection=connection).get_job_count(cleanup=False),
        }
        for state, value in counts.items():
            jobs.add_sample("flowkeeper_queue_jobs", {"queue": name, "state": state}, float(value))
        oldest.add_sample("flowkeeper_queue_oldest_job_age_seconds", {"queue": name}, _head_age(queue))
    workers = Metric(
        "flowkeeper_workers",
        "RQ workers registered with Redis (they expire when they stop beating).",
        "gauge",
    )
    workers.add_sample("flowkeeper_workers", {}, float(Worker.count(connection=connection)))
    return [jobs, oldest, workers]


def _head_age(queue: Queue) -> float:
    head = queue.connection.lindex(queue.key, 0)
    if head is None:
        return 0.0
    try:
        job = Job.fetch(head.decode() if isinstance(head, bytes) else str(head), connection=queue.connection)
    except NoSuchJobError:
        return 0.0
    enqueued = job.enqueued_at
    if enqueued is None:
        return 0.0
    if enqueued.tzinfo is None:
        enqueued = enqueued.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - enqueued).total_seconds())


def delivery_metrics(store: Any) -> list[Metric]:
    family = Metric(
        "flowkeeper_deliveries",
        "Deliveries recorded in the store, by state (pending, processing, done, failed).",
        "gauge",
    )
    counts: dict[str, int] = defaultdict(int, {"pending": 0, "processing": 0, "done": 0, "failed": 0})
    counts.update(store.deliveries.counts())
    for state, value in sorted(counts.items()):
        family.add_sample("flowkeeper_deliveries", {"state": state}, float(value))
    return [family]
