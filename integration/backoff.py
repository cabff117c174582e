"""Exponential backoff with jitter: how long a retry waits, wherever Flowkeeper retries.

Tracker calls (integration.trackers.retry), a sweep's writes set aside (integration.sweeps.applier,
through the trackers' `RetryPolicy`) and the receiver's enqueue (integration.held_script) back off
alike. It imports nothing of the service, so any layer may use it.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed try number `attempt` (from 1): `base` doubling up to `cap`,
    half of it fixed and half random ("equal jitter"), so retries that failed together spread out."""
    step = min(cap, base * (2 ** (attempt - 1)))
    return step / 2 + rand() * step / 2
