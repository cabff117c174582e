"""Keep the mirror complete from what a sweep or a sync reads: merge, store, note activity.

A search answer may lack fields the mirror knows (Jira's status entry time, Linear's
relations): those are filled from the mirror, never guessed. The mirror's status entry time
only stands for the status the mirror holds: when the search shows another (a status-change
webhook was lost), when that one was entered is read from the tracker's status history
(`dated`), else left unknown, so a rule timing the status never measures it from the
previous status's entry. When the mirror holds no
activity that counts for an item (no person's change, no creation), the tracker's
`updated` cannot stand for it: a bot's or Flowkeeper's own change bumps it too. So the
item's own record is read once (changelog and comments, with their authors) and the
last activity that counts — a person's entry, else the creation — is recorded as a
"seen" entry; after that only what webhooks report (who did what) moves the clock. The same
read says when the item entered its status, which Jira's search does not (no second request). Only
when that record cannot be read is `updated` the bound (never later than the truth). A
status the mirror did not know about is recorded as a status change, so a missed webhook
cannot leave a flag up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from integration.store.mirror import HistoryEntry
from integration.store.mirror_bulk import store_page
from integration.store.store import Store
from integration.trackers.base import RateLimited, TrackerClient, TrackerError
from rules.model import ActorKind, Change, Item, Status

log = logging.getLogger("flowkeeper.sweeps")

# Fields a search answer can lack for good (no changelog in Jira search, no relations in
# Linear's): an item missing only these is still worth keeping in the mirror.
SEARCH_GAPS = frozenset({"status_changed_at", "links"})
_ATTRS = frozenset(Item.__dataclass_fields__)
ENTRY = "status_changed_at"


def same_status(one: Status, other: Status) -> bool:
    """By id where both carry one (a renamed status stays itself), else by name and category."""
    if one.id and other.id:
        return one.id == other.id
    return one.name == other.name and one.category == other.category


def merge(found: Item, mirrored: Item | None) -> Item:
    """`found` with the fields it did not carry taken from the mirror where the mirror knows them;
    the status entry time only when the mirror holds the same status."""
    if mirrored is None or not found.unknown:
        return found
    moved = not same_status(found.status, mirrored.status)
    known = {
        name: getattr(mirrored, name)
        for name in found.unknown
        if name in _ATTRS and name not in mirrored.unknown and not (moved and name == ENTRY)
    }
    if not known:
        return found
    return replace(found, **known, unknown=frozenset(found.unknown - known.keys()))


def entered(item: Item, moves: Iterable[tuple[str | None, datetime]]) -> Item:
    """`item` with when it last entered its status, from its status moves (new status name, when):
    since its creation when none led to it."""
    if ENTRY not in item.unknown:
        return item
    at = max((when for new, when in moves if new == item.status.name), default=item.created_at)
    if at is None:
        return item
    return item.with_fields(status_changed_at=at, unknown=item.unknown - {ENTRY})


def dated(client: TrackerClient | None, found: Sequence[Item], mirrored: Mapping[str, Item]) -> list[Item]:
    """`found`, where the search did not say when an item entered its status and the mirror holds
    another status, with that time read from the tracker's status history.

    An item whose history cannot be read keeps it unknown (rules timing the status skip it);
    after a rate limit the rest of the page does too."""
    out, limited = list(found), False
    for n, item in enumerate(out):
        held = mirrored.get(item.id)
        if client is None or limited or ENTRY not in item.unknown or held is None \
                or same_status(item.status, held.status):
            continue
        try:
            history = client.status_history(item.key)
        except TrackerError as error:
            limited = isinstance(error, RateLimited)
            log.warning("mirror.status_entry_unread", extra={"item": item.key, "error": str(error)})
            continue
        out[n] = entered(item, status_moves(history))
    return out


def status_moves(record: Iterable[tuple[Change, object, object]]) -> list[tuple[str | None, datetime]]:
    """The status changes in a tracker's record of an item, as (new status name, when)."""
    return [(status_name(change.new), when) for change, _actor, when in record
            if change.field == "status" and isinstance(when, datetime)]


def status_name(value: object) -> str | None:
    """A status change's side as a name (trackers give a name or a status object)."""
    return None if value is None else str(getattr(value, "name", value))


UNEXPLAINED_AFTER = timedelta(minutes=5)  # the record's last entry and `updated` may differ by moments


def last_counted(item: Item, entries: Iterable[tuple[object, object, object]]) -> datetime | None:
    """The last activity that counts in a tracker's record of `item`: a person's change or comment,
    else the item's creation. Bots' and Flowkeeper's own entries never count.

    When the record does not reach the item's `updated` (a worklog, an attachment, anything the
    changelog and comments do not list), nothing shows a bot made that change: it counts, as
    before a record was read, so an item is never flagged on a guess."""
    read = [(when, actor) for _change, actor, when in entries if isinstance(when, datetime)]
    latest = max((when for when, _actor in read), default=None)
    if item.updated_at is not None and (latest is None or latest < item.updated_at - UNEXPLAINED_AFTER):
        return item.updated_at
    times = [when for when, actor in read if getattr(actor, "kind", None) is ActorKind.HUMAN]
    if item.created_at is not None:
        times.append(item.created_at)
    return max(times, default=None)


def first_sight(client: TrackerClient | None, found: Sequence[Item],
                acted: Iterable[str]) -> tuple[list[Item], dict[str, datetime | None]]:
    """`found`, and item id → its last counted activity, read from the tracker for the items the
    mirror has none for.

    The same read says when an item entered its status (the last move into it, else its
    creation): an item whose search did not say so gets it from there, at no extra request.
    An item not changed since its creation needs no read (it entered its status when created).
    An item whose record could not be read maps to None and keeps its entry time unknown:
    nothing is guessed for it, and the next sweep reads it again; after a rate limit the rest
    of the page waits for the next sweep too.
    """
    out = list(found)
    if client is None:
        return out, {}
    known, limited = set(acted), False
    counted: dict[str, datetime | None] = {}
    for n, item in enumerate(out):
        if item.id in known or item.updated_at is None or item.created_at is None:
            continue
        if item.updated_at <= item.created_at:
            counted[item.id] = item.created_at
            out[n] = entered(item, [])
            continue
        at = None
        if not limited:
            try:
                record = client.activity(item.key)
            except TrackerError as error:
                limited = isinstance(error, RateLimited)
                log.warning("mirror.first_sight_unread", extra={"item": item.key, "error": str(error)})
            else:
                at = last_counted(item, record)
                out[n] = entered(item, status_moves(record))
        counted[item.id] = at
    return out, counted


def estimated_activity(item: Item, mirrored: Item | None, has_activity: bool,
                       counted: Mapping[str, datetime | None] | None = None) -> list[HistoryEntry]:
    """History a search lets us infer: first sight (the last counted activity read by `first_sight`,
    or without a client the `updated` bound) or a missed status change."""
    if not has_activity:
        read = counted or {}
        at = read[item.id] if item.id in read else item.updated_at or item.created_at
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
            extra_history: dict[str, list[HistoryEntry]] | None = None,
            counted: Mapping[str, datetime | None] | None = None) -> tuple[list[Item], int]:
    """Merge, note inferred history, store; returns the items rules should see and how many were new.

    `counted`: the last counted activity of items first seen (`first_sight`)."""
    acted = set(active)
    merged = [merge(item, mirrored.get(item.id)) for item in found]
    history = []
    for item in merged:
        entries = list((extra_history or {}).get(item.id, ()))
        entries += estimated_activity(item, mirrored.get(item.id), item.id in acted, counted)
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
