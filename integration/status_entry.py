"""When an item entered its status, without reading the issue from the tracker on every webhook.

A Jira `issue_updated` webhook carries the whole issue but not when its status was entered,
unless its changelog changes the status (the normalizer then takes the event's time). Reading
the issue back for that one fact costs a tracker round trip per event, so the mirror's entry
time is taken instead when all of these hold:

- the event carried every other field (only the entry time is unknown);
- the mirror holds the same status, with a known entry time;
- the event is not older than the mirrored state (a late delivery reads the tracker as before);
- the mirror's status and entry time are the very ones read from the tracker, or from an event
  that changed the status, less than `TRUSTED_FOR` ago (a key with that lifetime in Redis, shared
  by the workers; in the embedded default, one process, in its memory). What was learned is
  compared, not only when: a sweep that stores a status it found, with no entry time in the
  search answer, stores an entry time no webhook confirmed.

What this can miss: a status changed and changed back whose webhooks never arrive (Jira
retries for about 30 minutes). A late one still corrects the mirror (`Mirror.upsert` takes a
later entry time for the same status from an older delivery), and the last rule makes each
item's entry time read from the tracker again at least every `TRUSTED_FOR`, so a lost one
misleads the rules for at most that long after the last confirmation, on items that keep
getting webhooks. The mirror's own write time cannot serve for this: every stored webhook,
this shortcut's included, renews it. Nor does a sweep repair such an entry time: a search
answer lacks it and takes the mirror's when the status is the same (a sweep that finds another
status reads when it was entered, `integration.sweeps.mirror_page.dated`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from threading import Lock

import redis

from integration.mirror_trust import TRUSTED_FOR, still_trusted
from rules.model import Event, EventKind, Item

REMEMBERED = 20_000  # items the embedded default remembers (a few MB); the oldest are forgotten first
ENTRY = "status_changed_at"


class StatusEntries:
    """Which items' status entry times were learned from the tracker less than `reuse_for` ago."""

    def __init__(self, connection: redis.Redis | None = None, reuse_for: timedelta = TRUSTED_FOR,
                 clock: Callable[[], float] = time.monotonic, remembered: int = REMEMBERED) -> None:
        self.connection = connection
        self.reuse_for, self.clock, self.remembered = reuse_for, clock, remembered
        self._learned: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._guard = Lock()

    def learned(self, item: Item, mirrored: Item | None) -> None:
        """`item` came from the tracker (a read, or an event that set the status): its entry time is
        fresh, unless the mirror holds a later state than it (a late delivery confirms nothing now)."""
        if ENTRY in item.unknown or item.status_changed_at is None or _older(item, mirrored):
            return
        key = (item.tracker.value, item.id)
        if self.connection is not None:
            try:
                self.connection.set(_redis_key(key), _entry(item), px=int(self.reuse_for.total_seconds() * 1000))
            except redis.RedisError:
                pass  # Redis is away: the next update reads the tracker, as it would without this
            return
        with self._guard:
            self._learned[key] = (self.clock(), _entry(item))
            self._learned.move_to_end(key)
            while len(self._learned) > self.remembered:
                self._learned.popitem(last=False)

    def carried(self, event: Event, mirrored: Item | None) -> None:
        """An event that created the item or changed its status says when the status was entered."""
        if event.kind is EventKind.CREATED or any(change.field == "status" for change in event.changes):
            self.learned(event.item, mirrored)

    def from_mirror(self, event: Event, mirrored: Item | None) -> Item | None:
        """The event's item with the mirror's entry time, or None when the tracker must be asked."""
        item = event.item
        if item.unknown != {ENTRY} or event.kind is not EventKind.UPDATED or mirrored is None:
            return None
        if ENTRY in mirrored.unknown or mirrored.status_changed_at is None or mirrored.status != item.status:
            return None
        if mirrored.updated_at is None or _older(item, mirrored):
            return None
        if not self._fresh((item.tracker.value, item.id), _entry(mirrored)):
            return None
        return item.with_fields(status_changed_at=mirrored.status_changed_at, unknown=frozenset())

    def _fresh(self, key: tuple[str, str], entry: str) -> bool:
        """Whether `entry` (status and entry time) is what was learned for the item less than `reuse_for` ago."""
        if self.connection is not None:
            try:
                held = self.connection.get(_redis_key(key))
            except redis.RedisError:
                return False
            return (held.decode() if isinstance(held, bytes) else held) == entry
        with self._guard:
            learned = self._learned.get(key)
        return learned is not None and learned[1] == entry \
            and still_trusted(timedelta(seconds=self.clock() - learned[0]), self.reuse_for)


def _entry(item: Item) -> str:
    """The item's status and when it was entered, as learned and as compared."""
    entered = item.status_changed_at.isoformat() if item.status_changed_at is not None else ""
    return f"{item.status.id or ''}|{item.status.name}|{entered}"


def _redis_key(key: tuple[str, str]) -> str:
    return f"flowkeeper:status-entry:{key[0]}:{key[1]}"


def _older(item: Item, mirrored: Item | None) -> bool:
    if mirrored is None or mirrored.updated_at is None:
        return False
    return item.updated_at is None or item.updated_at < mirrored.updated_at
