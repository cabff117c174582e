"""Build the parts of a Flowkeeper process once: store, queue, tracker clients, rules, pipeline.

The web app, the worker, the embedded runner and the CLI all call `build_services`,
so they are wired the same way; nothing a process holds in memory is needed by another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from integration.intake import Intake, StoredValue
from integration.judge import Judge
from integration.pipeline import Pipeline
from integration.queue import DatabaseDeliveryQueue, DeliveryQueue, RedisDeliveryQueue, redis_connection
from integration.running_rules import RuleSource
from integration.settings import Settings
from integration.status_entry import StatusEntries
from integration.store.db import RECEIVER_BUSY_SECONDS, make_engine
from integration.store.deliveries import Deliveries
from integration.store.store import Store
from integration.trackers.base import SubtaskSelecting, TrackerClient
from integration.trackers.factory import make_clients
from rules.model import Event
from rules.ruleset import RuleSet

log = logging.getLogger("flowkeeper.services")


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def redis_item_lock(connection: redis.Redis, name: str) -> Iterator[object]:
    """A Redis lock whose release survives a Redis outage: the work done under it stands,
    and the lock expires on its own (300 s), so the job is not failed after the fact."""
    lock = connection.lock(name, timeout=300, blocking_timeout=120)
    if not lock.acquire():
        raise redis.exceptions.LockError(f"could not lock {name} within 120 s")
    try:
        yield lock
    finally:
        try:
            lock.release()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            log.warning("item_lock.release_failed", extra={"lock": name, "error": type(error).__name__})


@dataclass
class Services:
    settings: Settings
    store: Store
    queue: DeliveryQueue
    redis: redis.Redis | None
    rules: RuleSource
    clients: Mapping[str, TrackerClient]
    _intake: Intake | None = field(default=None, init=False, repr=False)
    _status_entries: StatusEntries | None = field(default=None, init=False, repr=False)
    _accounts: dict[str, StoredValue] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def item_lock(self, name: str) -> Iterator[object]:
        """Serialize work on one item across workers (Redis) or threads (embedded default)."""
        if self.redis is not None:
            with redis_item_lock(self.redis, f"flowkeeper:lock:item:{name}") as lock:
                yield lock
            return
        with self._locks_guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            yield lock

    @property
    def intake(self) -> Intake:
        """Delivery bodies → Events, with this process's settings and the site facts the worker learned."""
        if self._intake is None:
            self._intake = Intake(self.settings, self.store)
        return self._intake

    def delivery_event(self, envelope: Mapping[str, Any]) -> Event:
        """A queued delivery's Event (`PayloadError` when its body does not normalize)."""
        return self.intake.event(envelope)

    def judge(self, tracker: str, *, forced_dry: bool = False) -> Judge:
        """A job's judge for `tracker`, with this process's settings, clients and running rule set."""
        return Judge.for_job(self.store, self.settings, tracker, self.clients.get(tracker), self.rules.current(),
                             forced_dry=forced_dry)

    @property
    def status_entries(self) -> StatusEntries:
        """Which items' status entry times the mirror may stand for (shared through Redis when there is one)."""
        if self._status_entries is None:
            self._status_entries = StatusEntries(self.redis)
        return self._status_entries

    def pipeline(self) -> Pipeline:
        return Pipeline(
            settings=self.settings,
            store=self.store,
            clients=self.clients,
            rules=self.rules.current,
            item_lock=self.item_lock,
            clock=utcnow,
            status_entries=self.status_entries,
            accounts=self._accounts,  # read at most once a minute, not once per delivery
        )


def receiver_queue(database_url: str) -> DatabaseDeliveryQueue:
    """The embedded queue on its own engine: storing a delivery waits for SQLite's write lock
    only briefly, and a busy database is a fast 503 (the tracker retries), not a 30 s wait."""
    return DatabaseDeliveryQueue(Deliveries(make_engine(database_url, busy_seconds=RECEIVER_BUSY_SECONDS)))


def reads_subtasks(ruleset: RuleSet) -> bool:
    """Whether a loaded rule reads sub-tasks: in its condition, a `with_subtasks` clock, or a comment."""
    return ruleset.reads_subtasks or ruleset.comments_mention("subtasks")


def build_services(settings: Settings, *, clients: Mapping[str, TrackerClient] | None = None) -> Services:
    store = Store.connect(settings.database_url)
    connection = redis_connection(settings.redis_url) if settings.redis_url else None
    queue: DeliveryQueue = (
        RedisDeliveryQueue(connection) if connection is not None else receiver_queue(settings.database_url)
    )
    rules = RuleSource(settings.rules_dir, store.overrides)
    clients = make_clients(settings) if clients is None else clients
    for client in clients.values():
        if isinstance(client, SubtaskSelecting):  # Linear reads sub-issues only while a rule needs them
            client.select_subtasks(lambda: reads_subtasks(rules.current()))
    return Services(settings=settings, store=store, queue=queue, redis=connection, rules=rules, clients=clients)


def describe(services: Services) -> dict[str, Any]:
    """What a start-up log line says about this process (never a secret)."""
    s = services.settings
    return {
        "database": s.database_url.split("://")[0],
        "queue": "redis" if s.redis_url else "database (embedded)",
        "rules": str(s.rules_dir) if s.rules_dir else "built-in packs",
        "jira": "configured" if s.jira_configured else "not configured",
        "linear": "configured" if s.linear_configured else "not configured",
        "dry_run": {t: s.dry_run_for(t) for t in ("jira", "linear")},
    }
