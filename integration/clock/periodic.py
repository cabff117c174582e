"""Periodic jobs features hand to the clock: one table both clocks read.

Each entry names its job, how often it runs, the RQ job function `flowkeeper cron` enqueues
(a worker's own services do the work), and the in-process form the embedded clock calls.
A feature with a periodic job adds one entry here; both clocks pick it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from integration.reports.jobs import deliver_digests_with, deliver_due_digests
from integration.retention import retention_job, run_retention
from integration.services import Services
from integration.store.maintenance import optimize


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    queued: Callable[..., Any]  # the RQ job (module-level, no arguments but the optional time)
    inline: Callable[[Services, datetime], str]  # the embedded clock's call; returns what happened


def _retention_now(services: Services, now: datetime) -> str:
    return str(asdict(run_retention(services.store, services.redis, services.settings.retention, now)))


def statistics_job() -> str:
    """The RQ job: refresh the planner's statistics (SQLite) with the worker's own store."""
    from integration.jobs import worker_services

    return optimize(worker_services().store.engine)


def _statistics_now(services: Services, now: datetime) -> str:
    return optimize(services.store.engine)


PERIODIC: tuple[Periodic, ...] = (
    Periodic("digests", timedelta(hours=1), deliver_due_digests, deliver_digests_with),
    Periodic("retention", timedelta(days=1), retention_job, _retention_now),
    Periodic("statistics", timedelta(days=1), statistics_job, _statistics_now),
)
