"""What each event kind answers to in a rule's `on:`, derived from EventKind so none is forgotten.

Every kind a normalizer can produce either names a trigger (its own value) or is skipped
with a reason a person can read; `status_changed` is the one trigger that is not a kind
(an update that changes the status). A new EventKind becomes a trigger by itself unless it
is added to SKIPPED_KINDS with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rules.model import Event, EventKind

STATUS_CHANGED = "status_changed"
SCHEDULE = EventKind.SCHEDULE.value

SKIPPED_KINDS: Mapping[EventKind, str] = MappingProxyType({
    EventKind.DELETED: "the item was deleted in the tracker: no rule judges a deleted item",
    EventKind.LABEL_CHANGED: "a label's definition changed, not an item: nothing to judge",
})

TRIGGERS: tuple[str, ...] = (
    *(k.value for k in EventKind if k not in SKIPPED_KINDS and k is not EventKind.SCHEDULE),
    STATUS_CHANGED, SCHEDULE,
)


def trigger_of(event: Event | None) -> str:
    """The trigger name an event answers to: 'status_changed' is an update changing status."""
    if event is None or event.kind is EventKind.SCHEDULE:
        return SCHEDULE
    if event.kind is EventKind.UPDATED and event.change_of("status") is not None:
        return STATUS_CHANGED
    return event.kind.value


def expand(triggers: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The triggers a rule answers to: `updated` also covers `status_changed`."""
    return frozenset(triggers) | ({STATUS_CHANGED} if EventKind.UPDATED.value in triggers else set())
