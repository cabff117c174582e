"""Explain one item key: find the item, build the context the one judge builds, ask the rules why.

The item is read from the tracker when credentials are configured (what rules would see on
the next event), else from the mirror. The evaluation context comes from the one judge
the pipeline and sweeps use, so Explain can never drift from what really runs.
Nothing here writes: no mirror update, no audit entry, no tracker call but the read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from integration.services import Services
from integration.store.audit import AuditEntry, AuditFilter
from integration.store.flags import flags_of
from integration.trackers.base import NotFound, TrackerError
from rules.model import Event, EventKind, Item, Tracker
from rules.verdicts import RuleVerdict, explain

AS_EVENTS = {
    "updated": "an update (webhook)",
    "created": "a new item (webhook)",
    "comment_created": "a new comment (webhook)",
    "comment_updated": "an edited comment (webhook)",
    "schedule": "a sweep (schedule)",
}
NAMES = {"jira": "Jira", "linear": "Linear"}


@dataclass(frozen=True)
class Lookup:
    item: Item | None
    source: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Known:
    """What Flowkeeper recorded about an item it cannot read now: its flags and its last decisions."""

    flags: tuple[dict[str, Any], ...]
    decisions: tuple[AuditEntry, ...]


def what_is_known(services: Services, key: str, tracker: str | None, limit: int = 20) -> Known:
    """For an item neither the tracker nor the mirror can show (a flag from before the last sync, a
    tracker without credentials): the rules' open flags on it and the decisions in the audit log,
    each with the reason the rule gave when it decided."""
    flags = flags_of(services.store.engine, key, tracker)
    decisions = services.store.audit.page(AuditFilter(item_key=key, tracker=tracker), limit=limit)
    return Known(tuple(flags), tuple(decisions))


def find_item(services: Services, key: str, tracker: str | None, scrub: Any = str) -> Lookup:
    """The tracker's current copy when we can read it; the mirror's otherwise."""
    mirrored = services.store.mirror.get_by_key(tracker, key)
    chosen = tracker or (mirrored.tracker.value if mirrored else None)
    notes: list[str] = []
    for name in [chosen] if chosen else list(services.clients):
        client = services.clients.get(name) if name else None
        if client is None:
            continue
        try:
            fresh = client.get_item(key)
        except NotFound:
            notes.append(f"{NAMES.get(name, name)} has no item {key} (or the service account may not see it)")
        except TrackerError as error:
            notes.append(f"reading it from {NAMES.get(name, name)} failed: {scrub(error)}")
        else:
            if mirrored is None:
                return Lookup(fresh, f"read from {NAMES.get(name, name)} just now — not in the mirror yet, so "
                                     "the verdicts see the tracker's copy without Flowkeeper's activity history",
                              tuple(notes))
            return Lookup(fresh, f"read from {NAMES.get(name, name)} just now")
    if mirrored is not None:
        return Lookup(mirrored, "from the mirror (no tracker read)", tuple(notes))
    return Lookup(None, "", tuple(notes) or (f"No item {key} in the mirror, and no tracker to ask.",))


def synthetic_event(item: Item, kind: str, now: datetime) -> Event | None:
    """The event Explain evaluates as: None is a sweep; others are an event with no field changes."""
    if kind == "schedule":
        return None
    return Event(tracker=item.tracker, kind=EventKind(kind), item=item, occurred_at=now)


def explain_item(services: Services, item: Item, kind: str, now: datetime) -> tuple[Item, list[RuleVerdict]]:
    """The item as the rules see it (with the mirror's last activity) and every rule's verdict."""
    event = synthetic_event(item, kind, now)
    judge = services.judge(item.tracker.value)
    item, context = judge.contexts([item], now)[0]
    if event is not None:
        event = replace(event, item=item)
    return item, explain(judge.ruleset, item, event, now, context)


def tracker_choice(raw: str | None) -> str | None:
    return raw if raw in {t.value for t in Tracker} else None
