"""Retention: forget audit entries, deliveries, failed jobs and day-scoped claims past their time.

The audit log and the deliveries table grow with every webhook; RQ keeps a failed job
for 30 days; the one-refusal-a-day claims of `/flowkeeper` commands matter for their day
only (REFUSAL_CLAIM_DAYS). `run_retention` purges what is older than the configured days (never a
pending delivery, never a job that has not failed) and says how much went. It runs as
`flowkeeper retention run` (a daily cron entry, or Heroku Scheduler) and as the RQ job
`integration.retention.retention_job` for RQ's cron.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from integration.commands.handler import REFUSAL_CLAIM_PREFIX
from integration.queue import QUEUE_NAME
from integration.settings_retention import RetentionSettings
from integration.store.store import Store

log = logging.getLogger("flowkeeper.retention")

BATCH = 500
REFUSAL_CLAIM_DAYS = 2  # a refusal claim names its UTC day; two days cover every timezone's "today"


@dataclass(frozen=True)
class RetentionReport:
    audit_entries: int
    deliveries: int
    failed_jobs: int
    refusal_claims: int

    def summary(self) -> str:
        return (
            f"purged {self.audit_entries} audit entries, {self.deliveries} deliveries, "
            f"{self.failed_jobs} failed jobs, {self.refusal_claims} day-scoped refusal claims"
        )


def run_retention(
    store: Store, connection: redis.Redis | None, policy: RetentionSettings, now: datetime | None = None
) -> RetentionReport:
    """Purge everything past its retention; record when it ran (the admin page can show it)."""
    now = now or datetime.now(UTC)
    report = RetentionReport(
        audit_entries=store.audit.purge_before(now - timedelta(days=policy.audit_days)),
        deliveries=store.deliveries.purge_before(now - timedelta(days=policy.delivery_days)),
        failed_jobs=purge_failed_jobs(connection, now - timedelta(days=policy.failed_job_days))
        if connection is not None
        else 0,
        refusal_claims=store.claims.purge_before(REFUSAL_CLAIM_PREFIX, now - timedelta(days=REFUSAL_CLAIM_DAYS)),
    )
    store.service.put("retention.last_run", {"at": now.isoformat(), **asdict(report)}, now)
    log.info("retention.done", extra=asdict(report))
    return report


def purge_failed_jobs(connection: redis.Redis, cutoff: datetime) -> int:
    """Delete failed jobs that failed before `cutoff`, in every queue RQ knows."""
    names = {q.name for q in Queue.all(connection=connection)} | {QUEUE_NAME}
    purged = 0
    for name in sorted(names):
        registry = FailedJobRegistry(name, connection=connection)
        registry.cleanup()  # entries whose failure_ttl ran out
        purged += _purge_registry(registry, connection, cutoff)
    return purged


def _purge_registry(registry: FailedJobRegistry, connection: redis.Redis, cutoff: datetime) -> int:
    purged, start = 0, 0
    while True:
        ids = registry.get_job_ids(start, start + BATCH - 1, cleanup=False)
        if not ids:
            return purged
        kept = 0
        for job_id, job in zip(ids, Job.fetch_many(ids, connection=connection), strict=False):
            if job is None:
                connection.zrem(registry.key, job_id)  # its data expired already
                purged += 1
            elif _failed_before(job, cutoff):
                registry.remove(job, delete_job=True)
                purged += 1
            else:
                kept += 1
        start += kept


def _failed_before(job: Job, cutoff: datetime) -> bool:
    ended = job.ended_at
    if ended is None:
        return False
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    return ended < cutoff


def retention_job() -> dict[str, int]:
    """The RQ job form, for RQ's cron: the worker's own services and retention settings."""
    from integration.jobs import worker_services

    services = worker_services()
    report = run_retention(services.store, services.redis, services.settings.retention)
    return asdict(report)


def cmd_retention_run(args: argparse.Namespace) -> int:
    from integration.services import build_services
    from integration.settings import settings_or_exit

    settings = settings_or_exit()
    services = build_services(settings, clients={})
    try:
        report = run_retention(services.store, services.redis, settings.retention)
    except redis.RedisError as error:
        print(
            f"flowkeeper: Redis is unavailable ({type(error).__name__}); nothing was purged there",
            file=sys.stderr,
        )
        return 1
    print(report.summary())
    return 0


def register(subparsers: Any) -> None:
    """Add `flowkeeper retention run` to the CLI."""
    group = subparsers.add_parser(
        "retention", help="purge audit entries, deliveries and failed jobs past retention"
    )
    sub = group.add_subparsers(dest="retention_command", required=True)
    run = sub.add_parser(
        "run",
        help="purge now (FLOWKEEPER_AUDIT_RETENTION_DAYS, FLOWKEEPER_DELIVERY_RETENTION_DAYS, "
        "FLOWKEEPER_FAILED_JOB_RETENTION_DAYS)",
    )
    run.set_defaults(func=cmd_retention_run)
