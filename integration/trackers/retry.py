"""Bounded retries with exponential backoff and jitter for tracker calls.

Tracker clients wrap each HTTP call in `call_with_retry`; it retries only errors that
say they are retryable, honours a tracker's own Retry-After, and gives up after a bounded
number of tries so a storm of 5xx ends as a failed audit entry, not a hung worker.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from integration.backoff import backoff
from integration.trackers.base import RateLimited, TrackerError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    tries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0  # a longer wait is left to the job queue's retry

    def delay(self, attempt: int, error: TrackerError, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        return self.wait(attempt, error.retry_after if isinstance(error, RateLimited) else None, rand)

    def wait(self, attempt: int, asked: float | None = None, rand: Callable[[], float] = random.random) -> float:
        """The same, given only the wait the tracker asked for (`Retry-After`), if it did: a call
        retried in process and a sweep's write retried by a later step back off alike."""
        if asked is not None:
            return min(asked, self.max_retry_after)
        return backoff(attempt, self.base_delay, self.max_delay, rand)


def call_with_retry(
    call: Callable[[], T],
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying retryable TrackerErrors; re-raise the last error when out of tries."""
    attempt = 1
    while True:
        try:
            return call()
        except TrackerError as error:
            if not error.retryable or attempt >= policy.tries:
                raise
            wait = policy.delay(attempt, error)
            if isinstance(error, RateLimited) and error.retry_after and error.retry_after > policy.max_retry_after:
                raise
            sleep(wait)
            attempt += 1
