"""Keep the mirror complete from what a sweep or a sync reads: merge, store, note activity.

A search answer may lack fields the mirror knows (Jira's status entry time, Linear's
relations): those are filled from the mirror, never guessed. When the mirror has never
seen a person act on an item, the tracker's `updated` is the best bound it has for the
last activity — never later than the truth — so it is recorded as a "seen" entry; after
that only what webhooks report (who did what) moves the clock. A status the mirror did
not know about is recorded as a status change, so a missed webhook cannot leave a flag up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from integration.store.mirror import HistoryEntry
from integration.store.mirror_bulk import store_page
from integration.store.store import Store
from rules.model import ActorKind, Item

# Fields a search answer can lack for good (no changelog in Jira search, no relations in
# Linear's): an item missing only these is still worth keeping in the mirror.
SEARCH_GAPS = frozenset({"status_changed_at", "links"})
_ATTRS = frozenset(Item.__dataclass_fields__)


def merge(found: Item, mirrored: Item | None) -> Item:
    """`found` with the fields it did not carry taken from the mirror where the mirror knows them."""
    if mirrored is None or not found.unknown:
        return found
    known = {
        name: getattr(mirrored, name)
        for name in found.unknown
        if name in _ATTRS and name not in mirrored.unknown
    }
    if not known:
        return found
    return replace(found, **known, unknown=frozenset(found.unknown - known.keys()))


def estimated_activity(item: Item, mirrored: Item | None, has_activity: bool) -> list[HistoryEntry]:
    """History a search lets us infer: first sight (bounded by `updated`) or a missed status change."""
    if not has_activity:
        at = item.updated_at or item.created_at
        if at is None:
            return []
        return [HistoryEntry(at=at, field="seen", actor_kind=ActorKind.HUMAN, new="first seen by a sweep or sync")]
    if mirrored is not None and mirrored.status.name != item.status.name and _newer(item, mirrored):
        at = item.status_changed_at or item.updated_at
        if at is None:
            return []
        return [HistoryEntry(at=at, field="status", actor_kind=ActorKind.HUMAN, old=mirrored.status.name,
                             new=item.status.name, old_category=mirrored.status.category,
                             new_category=item.status.category)]
    return []


def _newer(item: Item, mirrored: Item) -> bool:
    return item.updated_at is None or mirrored.updated_at is None or item.updated_at > mirrored.updated_at


def storable(item: Item) -> bool:
    return item.unknown <= SEARCH_GAPS


def refresh(store: Store, tracker: str, found: Sequence[Item], mirrored: dict[str, Item],
            active: Iterable[str], now: datetime,
            extra_history: dict[str, list[HistoryEntry]] | None = None) -> tuple[list[Item], int]:
    """Merge, note inferred history, store; returns the items rules should see and how many were new."""
    acted = set(active)
    merged = [merge(item, mirrored.get(item.id)) for item in found]
    history = []
    for item in merged:
        entries = list((extra_history or {}).get(item.id, ()))
        entries += estimated_activity(item, mirrored.get(item.id), item.id in acted)
        history += [(item, entry) for entry in entries]
    keep = [item for item in merged if storable(item)]
    try:
        stored = {i.id: i for i in store_page(store, tracker, keep, history, now)}
    except IntegrityError:  # a webhook inserted one of them meanwhile: go item by item
        stored = {i.id: _one_by_one(store, tracker, i, history, now) for i in keep}
    new = sum(1 for item in found if item.id not in mirrored)
    return [stored.get(item.id, item) for item in merged], new


def _one_by_one(store: Store, tracker: str, item: Item, history: list[tuple[Item, HistoryEntry]],
                now: datetime) -> Item:
    store.mirror.record_history(tracker, item, [e for i, e in history if i.id == item.id])
    return store.mirror.upsert(item, now)
