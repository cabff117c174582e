"""The workspace's workflow states and labels by id, so the worker can name what a delivery only ids.

A Linear update gives the old state and removed labels as ids (`updatedFrom.stateId`,
`updatedFrom.labelIds`). The catalog maps them to names: it learns from every delivery
(each carries its current state and labels by name), from IssueLabel events (a label
created, renamed or removed), and, with an API key, from the workspace itself
(`workflowStates`, `issueLabels`), refreshed when an id is missing or a day has passed.
It is kept in the store's service state, shared by every worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from integration.trackers.base import TrackerError
from rules.model import Change, Event, EventKind

log = logging.getLogger("flowkeeper.trackers.linear")

KEY = "linear.catalog"
REFRESH_AFTER = timedelta(days=1)
MISSING_RETRY_AFTER = timedelta(minutes=10)  # a missing id asks the API again at most this often
# Linear ids are UUIDs (captured payloads mask parts of them with x).
_ID = re.compile(r"^[0-9a-fx]{8}-[0-9a-fx]{4}-[0-9a-fx]{4}-[0-9a-fx]{4}-[0-9a-fx]{12}$")


class KeyValue(Protocol):
    def get(self, key: str) -> Any: ...
    def put(self, key: str, value: Any, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Catalog:
    states: Mapping[str, str] = field(default_factory=dict)  # state id → name
    labels: Mapping[str, str] = field(default_factory=dict)  # label id → name
    refreshed_at: str | None = None  # last read of the whole workspace (ISO), None: never

    @classmethod
    def from_json(cls, raw: Any) -> Catalog:
        raw = raw if isinstance(raw, Mapping) else {}
        return cls(dict(raw.get("states") or {}), dict(raw.get("labels") or {}), raw.get("refreshed_at"))

    def to_json(self) -> dict[str, Any]:
        return {"states": dict(self.states), "labels": dict(self.labels), "refreshed_at": self.refreshed_at}


def is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def learned(catalog: Catalog, event: Event) -> Catalog:
    """The catalog plus the names this delivery carries (current state, labels, a label event)."""
    states, labels = dict(catalog.states), dict(catalog.labels)
    item = event.item
    if event.kind is EventKind.LABEL_CHANGED:
        label_id, name = item.custom.get("label_id"), item.custom.get("label_name")
        if label_id and name:
            labels[str(label_id)] = str(name)  # kept after removal: history still names it
    else:
        if item.status.id and item.status.name and "status" not in item.unknown:
            states[item.status.id] = item.status.name
        ids = item.custom.get("label_ids") or ()
        if "labels" not in item.unknown and len(ids) == len(item.labels):
            labels.update(zip((str(i) for i in ids), item.labels, strict=True))
    if states == catalog.states and labels == catalog.labels:
        return catalog
    return replace(catalog, states=states, labels=labels)


def missing_ids(catalog: Catalog, event: Event) -> set[str]:
    """Ids in this event the catalog cannot name yet."""
    wanted: set[str] = set()
    for change in event.changes:
        if change.field == "status" and is_id(change.old):
            wanted.add(str(change.old))
        if change.field == "labels":
            wanted |= {v for v in (*change.added, *change.removed, *(change.old or ())) if is_id(v)}
    if "labels" in event.item.unknown:
        wanted |= {str(i) for i in event.item.custom.get("label_ids") or ()}
    return {i for i in wanted if i not in catalog.states and i not in catalog.labels}


def named(catalog: Catalog, event: Event) -> Event:
    """The event with ids replaced by names; a state id nobody can name becomes None (unknown)."""
    changes = tuple(_named_change(catalog, c) for c in event.changes)
    item = event.item
    ids = [str(i) for i in item.custom.get("label_ids") or ()]
    if "labels" in item.unknown and ids and all(i in catalog.labels for i in ids):
        item = item.with_fields(labels=tuple(catalog.labels[i] for i in ids), unknown=item.unknown - {"labels"})
    if changes == event.changes and item is event.item:
        return event
    return replace(event, changes=changes, item=item)


def _named_change(catalog: Catalog, change: Change) -> Change:
    if change.field == "status" and is_id(change.old):
        return replace(change, old=catalog.states.get(str(change.old)))
    if change.field == "labels":
        def name(values: Any) -> tuple[str, ...]:
            return tuple(catalog.labels.get(str(v), str(v)) for v in values or ())

        return replace(change, old=name(change.old), added=name(change.added), removed=name(change.removed))
    return change


Reader = Callable[[], tuple[Mapping[str, tuple[str, str]], Mapping[str, str]]]


def understand(event: Event, store: KeyValue, read_workspace: Reader | None, now: datetime) -> Event:
    """Learn from the delivery, read the workspace when an id is missing (with a key), name the ids."""
    catalog = Catalog.from_json(store.get(KEY))
    updated = learned(catalog, event)
    if read_workspace is not None and _should_refresh(updated, event, now):
        try:
            states, labels = read_workspace()
        except TrackerError as error:
            log.warning("linear.catalog_refresh_failed", extra={"error": str(error)})
        else:
            updated = Catalog(
                {**updated.states, **{i: s[0] for i, s in states.items()}},
                {**updated.labels, **labels},
                now.isoformat(),
            )
    if updated != catalog:
        store.put(KEY, updated.to_json(), now)
    return named(updated, event)


def _should_refresh(catalog: Catalog, event: Event, now: datetime) -> bool:
    last = datetime.fromisoformat(catalog.refreshed_at) if catalog.refreshed_at else None
    if last is None or now - last > REFRESH_AFTER:
        return True
    return bool(missing_ids(catalog, event)) and now - last > MISSING_RETRY_AFTER
