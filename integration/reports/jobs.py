"""The job the clock runs (e.g. hourly): deliver each digest whose schedule ticked, once per tick.

An importable function with no arguments, as RQ's cron scheduler and the embedded
scheduler expect; it builds its own services so it needs nothing of a web request.
"""

from __future__ import annotations

import logging
from datetime import datetime

from integration.reports.digest_run import digest_env, run_due
from integration.reports.sources import catalog_from_rules_dir

log = logging.getLogger("flowkeeper.reports")


def deliver_due_digests(now: datetime | None = None) -> str:
    from integration.services import build_services, utcnow
    from integration.settings import load_settings

    specs, allow = digest_env()
    if not specs:
        return "no digests configured"
    settings = load_settings()
    services = build_services(settings)
    try:
        catalog = catalog_from_rules_dir(settings.rules_dir)
        deliveries = run_due(services, now or utcnow(), specs, allow, catalog)
    finally:
        services.store.engine.dispose()  # the job runs hourly: leave no pool behind
    for d in deliveries:
        log.info("reports.digest %s", d.line())
    return "; ".join(d.line() for d in deliveries) or "no digest due"
