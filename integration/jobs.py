"""RQ jobs: importable functions taking plain JSON, run by `flowkeeper worker`.

A worker process builds its services once from its settings (never from a web
request). A job from an older release with a payload version this code does not know
fails with a clear error instead of guessing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from integration.intake import settle_malformed
from integration.observability import bind_figures, record
from integration.services import Services, build_services, utcnow
from integration.settings import load_settings
from integration.store.db import WRITE_LOCK
from integration.trackers.errors import PayloadError

log = logging.getLogger("flowkeeper.jobs")

_services: Services | None = None


def worker_services() -> Services:
    global _services
    if _services is None:
        _services = build_services(load_settings())
        bind_figures(_services.redis)
    return _services


def use_services(services: Services | None) -> None:
    """Let a worker (or a test) hand in the services it built."""
    global _services
    _services = services


def process_delivery(envelope: dict[str, Any]) -> str:
    """One delivery's job; its end is logged once, as `job.delivery.done` with the seconds it took
    (the worker leaves RQ's own line for it out)."""
    started = time.perf_counter()
    services = worker_services()
    try:
        event = services.delivery_event(envelope)
    except PayloadError as error:
        record.count("flowkeeper_jobs_total", tracker=str(envelope.get("tracker")), outcome="failed")
        record.flush()
        return settle_malformed(services.store.deliveries, envelope, error, utcnow())
    try:
        outcome = services.pipeline().handle(event)
    finally:
        record.write_lock(*WRITE_LOCK.take(), held=WRITE_LOCK.take_held())
    log.info("job.delivery.done", extra={"tracker": event.tracker.value, "item": event.item.key,
                                         "delivery": event.delivery_id, "outcome": outcome,
                                         "seconds": round(time.perf_counter() - started, 6)})
    return outcome


def mark_delivery_failed(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback: once retries are exhausted the delivery gets its terminal outcome."""
    if job.retries_left:
        return
    try:
        envelope = job.args[0]
        record.count("flowkeeper_jobs_total", tracker=envelope["tracker"], outcome="failed")
        record.flush()
        worker_services().store.deliveries.finish(
            envelope["tracker"], envelope["delivery_id"], "failed", f"{exc_type.__name__}: {exc_value}", utcnow()
        )
    except Exception:  # the callback must never hide the original failure
        log.exception("job.delivery.mark_failed_error")
