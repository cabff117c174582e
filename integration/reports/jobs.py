"""The job the clock runs (e.g. hourly): deliver each digest whose schedule ticked, once per tick.

An importable function with no arguments, as RQ's cron scheduler and the embedded
scheduler expect; it uses the worker's own services, never anything of a web request.
"""

from __future__ import annotations

import logging
from datetime import datetime

from integration.reports.digest_config import load_digests
from integration.reports.digest_run import run_due
from integration.reports.sources import catalog_from_rules_dir
from integration.services import Services, utcnow

log = logging.getLogger("flowkeeper.reports")


def deliver_due_digests(now: datetime | None = None) -> str:
    """The RQ job the clock enqueues hourly; a worker's own services do the work."""
    from integration.jobs import worker_services

    return deliver_digests_with(worker_services(), now)


def deliver_digests_with(services: Services, now: datetime | None = None) -> str:
    """Deliver every digest whose schedule ticked since its last delivery (also the embedded clock's)."""
    specs = load_digests(services.settings.digests.file)  # read at each delivery: edits need no restart
    if not specs:
        return "no digests configured"
    catalog = catalog_from_rules_dir(services.settings.rules_dir)
    deliveries = run_due(services, now or utcnow(), specs, services.settings.digests.allow, catalog)
    for d in deliveries:
        log.info("reports.digest %s", d.line())
    return "; ".join(d.line() for d in deliveries) or "no digest due"
