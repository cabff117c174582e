"""Figures shared by every process of a deployment: counters and gauges kept in Redis.

Workers run on other machines than the web process that answers `/metrics`, so what
they count (jobs, writes, rule hits, tracker calls, rate limits) is added to two Redis
hashes and read back at scrape time: any web process on any machine reports the same
totals. A process buffers its increments and sends them in one round trip per job (and
at least every `FLUSH_SECONDS` from a background thread), so counting costs a job
nothing it would notice. Redis being away loses no count: the buffer is kept and sent
later. Without Redis (the embedded default) one process does everything, and the figures
stay in its memory.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import redis

log = logging.getLogger("flowkeeper.metrics")

COUNTERS_KEY = "flowkeeper:metrics:counters"
GAUGES_KEY = "flowkeeper:metrics:gauges"
FLUSH_SECONDS = 2.0
_SEPARATOR = "\x1f"


def figure_key(name: str, labels: Mapping[str, str]) -> str:
    """`name␟label=value␟…`, labels sorted; separators inside values are replaced."""
    parts = [name] + [f"{k}={_clean(v)}" for k, v in sorted(labels.items())]
    return _SEPARATOR.join(parts)


def parse_key(key: str) -> tuple[str, dict[str, str]]:
    name, *pairs = key.split(_SEPARATOR)
    labels = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return name, labels


def _clean(value: str) -> str:
    return str(value).replace(_SEPARATOR, " ")[:120]


@dataclass(frozen=True)
class Snapshot:
    counters: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)


class Figures(Protocol):
    def add(self, key: str, amount: float = 1.0) -> None: ...

    def set(self, key: str, value: float) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def read(self) -> Snapshot: ...


class MemoryFigures:
    """One process (embedded default, tests): the figures are this dictionary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, float] = {}
        self._gauges: dict[str, float] = {}

    def add(self, key: str, amount: float = 1.0) -> None:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def set(self, key: str, value: float) -> None:
        with self._lock:
            self._gauges[key] = value

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def read(self) -> Snapshot:
        with self._lock:
            return Snapshot(dict(self._counters), dict(self._gauges))


class RedisFigures:
    """Buffered increments sent to Redis with HINCRBYFLOAT; gauges with HSET (last writer wins)."""

    def __init__(self, connection: redis.Redis, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.connection = connection
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._counters: dict[str, float] = {}
        self._gauges: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._pid = os.getpid()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """A forked child starts empty: the parent still holds (and sends) what it counted."""
        self._lock = threading.Lock()
        self._counters, self._gauges = {}, {}
        self._thread = None

    def add(self, key: str, amount: float = 1.0) -> None:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + amount
        self._ensure_flusher()

    def set(self, key: str, value: float) -> None:
        with self._lock:
            self._gauges[key] = value
        self._ensure_flusher()

    def flush(self) -> None:
        with self._lock:
            counters, gauges = self._counters, self._gauges
            self._counters, self._gauges = {}, {}
        if not counters and not gauges:
            return
        try:
            with self.connection.pipeline(transaction=False) as pipe:
                for key, amount in counters.items():
                    pipe.hincrbyfloat(COUNTERS_KEY, key, amount)
                if gauges:
                    pipe.hset(GAUGES_KEY, mapping=dict(gauges))  # type: ignore[arg-type]
                pipe.execute()
        except redis.RedisError as error:
            self._keep(counters, gauges)
            log.debug("metrics.flush_failed", extra={"error": type(error).__name__})

    def _keep(self, counters: dict[str, float], gauges: dict[str, float]) -> None:
        """Put back what could not be sent; newer gauge values win over the older ones."""
        with self._lock:
            for key, amount in counters.items():
                self._counters[key] = self._counters.get(key, 0.0) + amount
            self._gauges = {**gauges, **self._gauges}

    def read(self) -> Snapshot:
        self.flush()
        counters = self.connection.hgetall(COUNTERS_KEY)
        gauges = self.connection.hgetall(GAUGES_KEY)
        return Snapshot(_floats(counters), _floats(gauges))

    def _ensure_flusher(self) -> None:
        """A daemon thread per process (again after a fork: threads do not survive one)."""
        if self._closed.is_set():
            return
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="flowkeeper-metrics", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Send what is left and stop the background thread (this sink is being replaced)."""
        self._closed.set()
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:
                log.debug("metrics.flush_error", exc_info=True)


def _floats(raw: Mapping[bytes | str, bytes | str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else key
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue
    return out
