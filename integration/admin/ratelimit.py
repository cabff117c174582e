"""Failed-login limits: per client and overall, in Redis when there is one.

With Redis every web process shares the counters; the embedded default is one process,
so its memory is the whole truth there. A global ceiling bounds guessing from many
addresses; a per-client limit keeps one guesser from locking everyone else out first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

PREFIX = "flowkeeper:admin:login-failures"


@dataclass(frozen=True)
class Limits:
    per_client: int = 5
    overall: int = 50
    window_seconds: int = 900


class MemoryCounter:
    """Fixed-window counters in this process (the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def get(self, key: str, window: int) -> int:
        with self._lock:
            started, count = self._counts.get(key, (0.0, 0))
            return count if self.clock() - started < window else 0

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            started, count = self._counts.get(key, (0.0, 0))
            if self.clock() - started >= window:
                started, count = self.clock(), 0
            self._counts[key] = (started, count + 1)
            return count + 1

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisCounter:
    """Fixed-window counters shared by every web process."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def get(self, key: str, window: int) -> int:
        return int(self.connection.get(f"{PREFIX}:{key}") or 0)

    def incr(self, key: str, window: int) -> int:
        with self.connection.pipeline() as pipe:
            pipe.incr(f"{PREFIX}:{key}")
            pipe.expire(f"{PREFIX}:{key}", window, nx=True)
            count, _ = pipe.execute()
        return int(count)

    def reset(self, key: str) -> None:
        self.connection.delete(f"{PREFIX}:{key}")


@dataclass
class LoginLimiter:
    counter: MemoryCounter | RedisCounter
    limits: Limits = field(default_factory=Limits)

    def blocked(self, client: str) -> bool:
        """Over its own limit, or — during a global storm — a client that has failed before.

        A client with no failures may still try while the global ceiling is reached, so
        a guessing storm from many addresses never locks the real admin out; each address
        in the storm is stopped after its first miss.
        """
        window = self.limits.window_seconds
        own = self.counter.get(f"client:{client}", window)
        if own >= self.limits.per_client:
            return True
        return own > 0 and self.counter.get("all", window) >= self.limits.overall

    def failed(self, client: str) -> None:
        self.counter.incr(f"client:{client}", self.limits.window_seconds)
        self.counter.incr("all", self.limits.window_seconds)

    def succeeded(self, client: str) -> None:
        self.counter.reset(f"client:{client}")


def limiter_for(connection: redis.Redis | None, limits: Limits | None = None) -> LoginLimiter:
    counter: MemoryCounter | RedisCounter = (
        RedisCounter(connection) if connection is not None else MemoryCounter()
    )
    return LoginLimiter(counter, limits or Limits())
