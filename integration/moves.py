"""Writing transitions and assignments: the executor's part for actions that move an item.

Like a comment's marker lookup, a write that may have happened before (a retried job, a
worker killed after the tracker answered) first reads the item fresh: an item already
where the action wants it is left alone. A close by Flowkeeper is remembered with the
status it came from, so `reopen` can return the item there; a reopen forgets it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from integration.trackers.base import TrackerClient
from rules.model import Action, ActionKind, ActorKind, Item, Person, Status, StatusCategory, TransitionTarget

CLOSED = (StatusCategory.DONE, StatusCategory.CANCELED)


def move(item: Item, action: Action, client: TrackerClient, store: Store, now: datetime, look_first: bool) -> str:
    """Carry out one transition / assign / unassign; returns what was done, for the audit log."""
    current = client.get_item(item.key) if look_first else item
    if action.kind is ActionKind.TRANSITION:
        assert action.transition is not None
        return _transition(current, action, action.transition, client, store, now)
    return _assign(current, action, client, store, now)


def _there(status: Status, target: TransitionTarget) -> bool:
    if target.reopen and status.category not in CLOSED:
        return True  # someone reopened it meanwhile: nothing left to do
    if target.status is not None and status.name.casefold() == target.status.casefold():
        return True
    return target.status is None and status.category is target.category


def _transition(item: Item, action: Action, target: TransitionTarget, client: TrackerClient, store: Store,
                now: datetime) -> str:
    before = item.status
    if _there(before, target):
        return f"already {before.name or before.category.value}: {action.reason}"
    after = client.transition(item, target)
    tracker = item.tracker.value
    _mirror(store, item, now, HistoryEntry(now, "status", ActorKind.FLOWKEEPER, before.name, after.name,
                                           before.category, after.category), status=after, status_changed_at=now)
    if target.reopen:
        store.closures.forget(tracker, item.id)
    elif after.category in CLOSED and before.category not in CLOSED:
        store.closures.remember(tracker, item.id, action.rule, before, after, now)
    return f"moved from {before.name} to {after.name}: {action.reason}"


def _same(a: Person | None, b: Person | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(a.id and a.id == b.id) or bool(a.email and b.email and a.email.casefold() == b.email.casefold())


def _mirror(store: Store, item: Item, now: datetime, entry: HistoryEntry, **changes: object) -> None:
    """The move as Flowkeeper's in the item's history (never a person's activity), and in the
    mirror at once, so a sweep reading the item before the tracker's webhook arrives does not
    mistake the change for a person's. The tracker did not give that copy: it is not marked as
    confirmed (a Linear comment is judged on a copy only while Linear gave it recently)."""
    store.mirror.record_history(item.tracker.value, item, [entry])
    mirrored = store.mirror.get(item.tracker.value, item.id)
    if mirrored is not None:  # its own `updated` is kept: the tracker's next answer still wins
        store.mirror.upsert(replace(mirrored, **changes), now, confirmed=False)  # type: ignore[arg-type]


def _assign(item: Item, action: Action, client: TrackerClient, store: Store, now: datetime) -> str:
    wanted = action.assignee if action.kind is ActionKind.ASSIGN else None
    if _same(item.assignee, wanted):
        who = wanted.name or wanted.id if wanted is not None else ""
        return f"already assigned to {who}: {action.reason}" if wanted else f"already unassigned: {action.reason}"
    if wanted is not None and wanted.id and wanted.id == client.whoami().id:
        return f"not assigning to Flowkeeper's own account: {action.reason}"
    client.assign(item, wanted)
    _mirror(store, item, now, HistoryEntry(now, "assignee", ActorKind.FLOWKEEPER, _name(item.assignee),
                                           _name(wanted)), assignee=wanted)
    if wanted is None:
        return f"unassigned {_name(item.assignee)}: {action.reason}"
    return f"assigned to {_name(wanted)}: {action.reason}"


def _name(person: Person | None) -> str:
    return "nobody" if person is None else (person.name or person.email or person.id)
