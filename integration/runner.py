"""The embedded default's job runner: works through the deliveries table in-process.

With no REDIS_URL, `flowkeeper serve` stores each delivery before answering 200 and
this thread processes them oldest first. On start it resumes deliveries a crash left
"processing", so a restart loses nothing. Production uses RQ workers instead.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from integration.codec import CodecError
from integration.executor import RetryLater
from integration.intake import settle_malformed
from integration.services import Services, utcnow
from integration.trackers.errors import PayloadError

log = logging.getLogger("flowkeeper.runner")

MAX_ATTEMPTS = 6


class EmbeddedRunner:
    def __init__(self, services: Services, poll_seconds: float = 0.5) -> None:
        self.services = services
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="flowkeeper-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def run_pending(self, resume: bool = False) -> int:
        """Process what is waiting now; returns how many deliveries were handled."""
        deliveries = self.services.store.deliveries
        batch = deliveries.next_pending(limit=50, include_processing=resume)
        pipeline = self.services.pipeline()
        for delivery in batch:
            if self._stop.is_set():
                break
            try:
                outcome = pipeline.handle(self.services.delivery_event(delivery.envelope or {}))
                log.info("runner.delivery.done", extra={"delivery": delivery.delivery_id, "outcome": outcome})
            except PayloadError as error:
                settle_malformed(deliveries, delivery.envelope or {}, error, utcnow())
            except CodecError as error:
                deliveries.finish(delivery.tracker, delivery.delivery_id, "failed", str(error), utcnow())
            except Exception as error:  # a bad delivery must not stop the runner
                self._failed(delivery.tracker, delivery.delivery_id, delivery.attempts + 1, error)
        return len(batch)

    def _failed(self, tracker: str, delivery_id: str, attempts: int, error: Exception) -> None:
        deliveries = self.services.store.deliveries
        reason = f"{type(error).__name__}: {error}"
        if attempts >= MAX_ATTEMPTS or not isinstance(error, (RetryLater, OperationalError)):
            log.exception("runner.delivery.failed", extra={"delivery": delivery_id})
            deliveries.finish(tracker, delivery_id, "failed", reason, utcnow())
        else:
            log.warning("runner.delivery.retry", extra={"delivery": delivery_id, "attempts": attempts})
            deliveries.release(tracker, delivery_id, reason)
            self._stop.wait(min(60.0, 2.0**attempts))

    def _run(self) -> None:
        resume = True
        while not self._stop.is_set():
            try:
                handled = self.run_pending(resume=resume)
                resume = False
            except Exception:
                log.exception("runner.error")
                handled = 0
            if not handled:
                self._stop.wait(self.poll_seconds)
        log.info("runner.stopped")
