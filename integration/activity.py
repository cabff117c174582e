"""Turn an event into history entries: who changed what, and whether it counts as activity."""

from __future__ import annotations

from integration.store.mirror import HistoryEntry
from rules.model import ActorKind, Change, Event, EventKind, StatusCategory

_COMMENT_EVENTS = (EventKind.COMMENT_CREATED, EventKind.COMMENT_UPDATED)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(getattr(value, "name", value))


def _category(value: object) -> StatusCategory | None:
    category = getattr(value, "category", None)
    return category if isinstance(category, StatusCategory) else None


def history_entries(event: Event) -> list[HistoryEntry]:
    """Status changes keep their categories (for flow metrics); every entry keeps the actor kind."""
    actor_kind = event.actor.kind if event.actor else ActorKind.HUMAN
    actor_id = event.actor.id if event.actor else None
    entries = []
    if event.kind is EventKind.CREATED:
        created = event.item.created_at or event.occurred_at
        entries.append(HistoryEntry(at=created, field="created", actor_kind=actor_kind, actor_id=actor_id,
                                    new=event.item.status.name, new_category=event.item.status.category))
    for change in event.changes:
        entries.append(_change_entry(change, event, actor_kind, actor_id))
    if event.kind in _COMMENT_EVENTS and event.comment is not None:
        author = event.comment.author or event.actor
        kind = author.kind if author else actor_kind
        entries.append(HistoryEntry(at=event.comment.created_at or event.occurred_at, field="comment",
                                    actor_kind=kind, actor_id=author.id if author else actor_id,
                                    new=event.comment.id))
    return entries


def _change_entry(change: Change, event: Event, actor_kind: ActorKind, actor_id: str | None) -> HistoryEntry:
    old, new = change.old, change.new
    if change.field == "labels" and (change.added or change.removed):
        old = " ".join(f"-{label}" for label in change.removed) or None
        new = " ".join(f"+{label}" for label in change.added) or None
    return HistoryEntry(
        at=event.occurred_at,
        field=change.field,
        actor_kind=actor_kind,
        actor_id=actor_id,
        old=_text(old),
        new=_text(new),
        old_category=_category(change.old),
        new_category=_category(change.new) or (event.item.status.category if change.field == "status" else None),
    )
