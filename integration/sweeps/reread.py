"""Read items again from the tracker before a sweep writes to them, in as few requests as it allows."""

from __future__ import annotations

from collections.abc import Sequence

from integration.trackers.base import BatchReading, RateLimited, TrackerClient, TrackerError
from rules.model import Item

BATCH = 100  # items a tracker reads again in one request (Jira's bulk fetch; a Linear page of 100)


def read_again(client: TrackerClient, items: Sequence[Item]) -> list[Item]:
    """The tracker's current state of `items`, in their order; those it no longer shows (deleted,
    moved out of reach) are left out. A tracker that reads many at once does (Jira's bulk fetch,
    Linear's `id in` filter), else each is read alone. Failures that may pass propagate."""
    if not items:
        return []
    if isinstance(client, BatchReading):
        found = {i.id: i for i in client.get_items(items)}
        by_key = {i.key: i for i in found.values()}
        return [fresh for item in items if (fresh := found.get(item.id) or by_key.get(item.key)) is not None]
    return [fresh for fresh in (_one(client, item) for item in items) if fresh is not None]


def _one(client: TrackerClient, item: Item) -> Item | None:
    try:
        return client.get_item(item.key)
    except RateLimited:
        raise
    except TrackerError as error:
        if error.retryable:
            raise
        return None  # gone from the tracker (deleted, moved out of reach): nothing to write
