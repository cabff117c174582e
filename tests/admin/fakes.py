"""An in-memory tracker client: it records the writes the executor makes through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from integration.trackers.base import NotFound, WriteMarker
from rules.model import ActorKind, Change, CommentBody, Item, Person, SearchPage, SearchQuery, Tracker


@dataclass
class FakeTracker:
    tracker: Tracker = Tracker.JIRA
    items: dict[str, Item] = field(default_factory=dict)
    writes: list[tuple[str, str, object]] = field(default_factory=list)
    broken: Exception | None = None  # raised by every call while set: a failing job

    def whoami(self) -> Person:
        if self.broken is not None:
            raise self.broken
        return Person("flowkeeper-bot", "Flowkeeper", kind=ActorKind.FLOWKEEPER)

    def get_item(self, key: str) -> Item:
        if self.broken is not None:
            raise self.broken
        if key not in self.items:
            raise NotFound(f"{key} does not exist")
        return self.items[key]

    def search(self, query: SearchQuery, page_token: str | None = None, page_size: int = 100) -> SearchPage:
        return SearchPage(tuple(self.items.values()))

    def status_history(self, key: str) -> Sequence[tuple[Change, Person | None, object]]:
        return ()

    def find_marked_comment(self, item: Item, marker: WriteMarker) -> str | None:
        return None

    def add_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> str:
        self.writes.append(("comment", item.key, body.plain))
        return f"c{len(self.writes)}"

    def add_labels(self, item: Item, labels: Sequence[str]) -> None:
        self.writes.append(("add_labels", item.key, tuple(labels)))
        if item.key in self.items:
            current = self.items[item.key]
            self.items[item.key] = replace(current, labels=tuple(dict.fromkeys((*current.labels, *labels))))

    def remove_labels(self, item: Item, labels: Sequence[str]) -> None:
        self.writes.append(("remove_labels", item.key, tuple(labels)))
