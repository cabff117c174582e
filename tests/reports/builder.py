"""Hand-built item histories written through the real mirror, audit log and rule states."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from integration.store.audit import AuditEntry, Outcome
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from rules.model import (
    ActorKind,
    EpisodeChange,
    EpisodeTransition,
    Item,
    Person,
    Status,
    StatusCategory,
    Tracker,
)

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
CATEGORIES = {
    "To Do": StatusCategory.TODO,
    "Backlog": StatusCategory.TODO,
    "In Progress": StatusCategory.IN_PROGRESS,
    "In Review": StatusCategory.IN_PROGRESS,
    "Blocked": StatusCategory.IN_PROGRESS,
    "Done": StatusCategory.DONE,
    "Won't Do": StatusCategory.CANCELED,
}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def status(name: str) -> Status:
    return Status(name, CATEGORIES[name])


class Builder:
    """`item(key, created, moves)` writes an item whose history is exactly what the test says."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ids: dict[str, str] = {}

    def item(self, key: str, created: float, moves: Sequence[tuple[float, str]] = (), *, first: str = "To Do",
             team: str = "ENG", tracker: str = "jira", assignee: str | None = None,
             estimate: float | None = None,
             project: str | None = None, parent: str | None = None, type: str | None = None,
             due: datetime | None = None, labels: tuple[str, ...] = (), title: str | None = None) -> Item:
        current = status(moves[-1][1] if moves else first)
        last_move = day(moves[-1][0]) if moves else day(created)
        item = Item(
            tracker=Tracker(tracker), id=f"id-{key}", key=key, title=title or f"Item {key}", status=current,
            assignee=Person(assignee, assignee.title()) if assignee else None, estimate=estimate, team=team,
            project=project, parent=parent, type=type, labels=labels, created_at=day(created),
            updated_at=last_move, status_changed_at=last_move, due_date=due.date() if due else None,
        )
        self.ids[key] = item.id
        self.store.mirror.upsert(item, last_move)
        entries = [HistoryEntry(at=day(created), field="created", actor_kind=ActorKind.HUMAN, new=first,
                                new_category=CATEGORIES[first])]
        previous = first
        for at, name in moves:
            entries.append(HistoryEntry(at=day(at), field="status", actor_kind=ActorKind.HUMAN, old=previous,
                                        new=name, old_category=CATEGORIES[previous],
                                        new_category=CATEGORIES[name]))
            previous = name
        self.store.mirror.record_history(tracker, item, entries)
        return item

    def labels(self, item: Item, at: float, *, added: str = "", removed: str = "",
               kind: ActorKind = ActorKind.HUMAN) -> None:
        entry = HistoryEntry(at=day(at), field="labels", actor_kind=kind, old=removed or None,
                             new=added or None)
        self.store.mirror.record_history(item.tracker.value, item, [entry])

    def action(self, item: Item, rule: str, at: float, kind: str, *, episode: int = 1, step: str = "0",
               outcome: Outcome = Outcome.DONE, labels: tuple[str, ...] = ()) -> None:
        """An audit entry shaped like the executor's: identity rule/episode/step/kind."""
        detail: dict[str, object] = {"identity": f"{rule}/{episode}/{step}/{kind}"}
        if labels:
            detail["labels"] = list(labels)
        entry = AuditEntry(at=day(at), tracker=item.tracker.value, action=kind, outcome=outcome,
                           reason="test", item_key=item.key, rule=rule, detail=detail)
        self.store.audit.record([entry])

    def episode(self, item: Item, rule: str, at: float, *, episode: int = 1, mode: str = "live",
                closed: float | None = None) -> None:
        states = self.store.rule_states
        states.apply(item.tracker.value, item.id, item.key, mode,
                     [EpisodeTransition(rule, EpisodeChange.OPEN, episode)], [], day(at))
        if closed is not None:
            states.apply(item.tracker.value, item.id, item.key, mode,
                         [EpisodeTransition(rule, EpisodeChange.CLOSE, episode)], [], day(closed))
