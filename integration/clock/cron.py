"""`flowkeeper cron`: RQ's cron scheduler, with each scheduled rule's sweep and the reconcile.

Exactly one `clock` process is meant to run (Procfile, app.json). RQ's scheduler takes
no lock of its own, so a second one during a deploy would enqueue every tick twice; the
sweep's own lease and its per-slot start check make the second start a no-op. Cron
expressions are read in the rule's timezone (RQ's own reads the machine's local time).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rq.cron import CronJob, CronScheduler
from rq.utils import now as rq_now

from integration.clock.periodic import PERIODIC
from integration.observability import bind_figures
from integration.queue import QUEUE_NAME
from integration.services import Services, build_services
from integration.settings import Settings
from integration.settings_sweeps import SweepSettings
from integration.sweeps.jobs import reconcile, start_sweep
from integration.sweeps.schedule import Schedule, describe_targets, sweep_targets, why_no_sweeps

log = logging.getLogger("flowkeeper.cron")
JOB_TIMEOUT = 600


class ZonedCronJob(CronJob):
    """A cron job whose expression is wall-clock time in `tz`, not the machine's zone."""

    def __init__(self, *args: Any, tz: str = "UTC", **kwargs: Any) -> None:
        self.tz = tz  # set first: CronJob.__init__ computes the first run time
        super().__init__(*args, **kwargs)

    def get_next_enqueue_time(self) -> datetime:
        if self.cron:
            return Schedule(self.cron, self.tz).next_after(self.latest_enqueue_time or rq_now())
        return super().get_next_enqueue_time()


class SweepScheduler(CronScheduler):
    """RQ's CronScheduler with the jobs of the clock: interval jobs through RQ's public `register()`,
    cron sweeps as zoned jobs (their expression read in the rule's timezone)."""

    def every(self, func: Callable[..., Any], seconds: int, name: str,
              kwargs: dict[str, Any] | None = None) -> CronJob:
        job = self.register(func, QUEUE_NAME, kwargs=kwargs, interval=seconds, job_timeout=JOB_TIMEOUT, name=name)
        log.info("cron.registered", extra={"job": name, "interval": seconds})
        return job

    def zoned(self, job: ZonedCronJob) -> CronJob:
        # RQ 3.0 offers no public way to add a job object: `register()` builds a plain CronJob, whose
        # cron expression RQ reads in the machine's zone. So the zoned job goes on the scheduler's own
        # list; tests/sweeps/test_schedule_and_leases.py (the zoned job is listed and enqueued when
        # due) fails if RQ keeps its jobs elsewhere.
        self._cron_jobs.append(job)
        log.info("cron.registered", extra={"job": job.name, "cron": job.cron, "tz": job.tz})
        return job

    def sweep(self, rule: str, tracker: str, schedule: Schedule) -> CronJob:
        name, kwargs = f"sweep:{tracker}:{rule}", {"rule": rule, "tracker": tracker}
        if isinstance(schedule.every, str):
            return self.zoned(ZonedCronJob(cron=schedule.every, tz=schedule.tz, queue_name=QUEUE_NAME,
                                           func=start_sweep, kwargs=kwargs, job_timeout=JOB_TIMEOUT, name=name))
        return self.every(start_sweep, int(schedule.every.total_seconds()), name, kwargs)


def build_scheduler(services: Services, settings: SweepSettings) -> SweepScheduler:
    """One job per (scheduled rule, configured tracker), plus a reconcile per tracker."""
    assert services.redis is not None
    scheduler = SweepScheduler(connection=services.redis, name="")
    for target in sweep_targets(services.rules.current(), set(services.clients), settings):
        scheduler.sweep(target.rule, target.tracker, target.schedule)
    for job in PERIODIC:
        scheduler.every(job.queued, int(job.every.total_seconds()), job.name)
    if settings.reconcile_every is not None:
        for tracker in sorted(services.clients):
            scheduler.every(reconcile, int(settings.reconcile_every.total_seconds()), f"reconcile:{tracker}",
                            {"tracker": tracker})
    return scheduler


def run_cron(settings: Settings) -> int:
    if not settings.redis_url:
        print("flowkeeper: `cron` needs REDIS_URL (without it, `flowkeeper serve` runs sweeps in-process)",
              file=sys.stderr)
        return 2
    services = build_services(settings)
    bind_figures(services.redis)
    scheduler = build_scheduler(services, settings.sweeps)
    print(f"flowkeeper cron: {registered(services, settings.sweeps)}", file=sys.stderr, flush=True)
    scheduler.start()
    return 0


def registered(services: Services, settings: SweepSettings) -> str:
    """What the clock registered, said at start-up: the sweeps, or why there are none."""
    ruleset, configured = services.rules.current(), set(services.clients)
    why = why_no_sweeps(ruleset, configured, settings)
    if why is not None:
        log.warning("cron.no_sweeps: %s", why)
        return f"registered no sweeps: {why}; digests and retention still run"
    targets = list(sweep_targets(ruleset, configured, settings))
    return f"registered {len(targets)} sweep{'s' if len(targets) != 1 else ''}: {describe_targets(targets)}"
