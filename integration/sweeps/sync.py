"""`flowkeeper sync` and the scheduled reconcile: keep the item mirror complete.

WIP counts, time in status and the sweeps' clocks read the mirror, so it must hold every
open item with its status history, not only the items webhooks happened to mention.
`sync` backfills the open items of the rules' scope (and items carrying a flag), with
each one's status history; `reconcile` re-reads what changed since the last run, which
repairs what a disabled Linear webhook or a late Jira delivery left out. The last run of
each is recorded in `store.service` ("jira.sync.last", "linear.reconcile.last").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.judge.facts import human_activity, mirrored_items
from integration.services import Services, utcnow
from integration.store.mirror import HistoryEntry
from integration.sweeps.locks import leases_for
from integration.sweeps.mirror_page import entered, first_sight, refresh, status_name
from integration.trackers.base import TrackerClient, TrackerError, as_own
from rules.model import ActorKind, Item, SearchQuery, StatusCategory, Tracker

OPEN = (StatusCategory.TODO, StatusCategory.IN_PROGRESS)
LATE_DELIVERY_MARGIN = timedelta(hours=1)  # Jira may deliver up to ~30 minutes late
Progress = Callable[[int, int], None]  # (items so far, pages so far)


@dataclass
class SyncReport:
    tracker: str
    kind: str  # "sync" or "reconcile"
    items: int = 0
    new: int = 0
    history: int = 0
    pages: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (f"{self.tracker} {self.kind}: {self.items} items ({self.new} new to the mirror), "
                f"{self.history} status changes, {self.pages} pages in {self.seconds:.1f} s")
        return text + (f"; {len(self.errors)} errors: {self.errors[0]}" if self.errors else "")


def scope_query(services: Services, tracker: str, **narrowing: Any) -> SearchQuery:
    """The connected scope: the teams the tracker's rules name (all when one names none)."""
    rules = [r for r in services.rules.current().rules if Tracker(tracker) in r.trackers]
    teams: set[str] = set()
    if rules and all(r.teams for r in rules):
        teams = {t for r in rules for t in r.teams}
    flags = tuple(sorted({label for r in rules for label in r.flag_labels}))
    return SearchQuery(teams=tuple(sorted(teams)), always_include_labels=flags, **narrowing)


def pages(client: TrackerClient, query: SearchQuery, size: int = 100) -> Iterator[tuple[Item, ...]]:
    token: str | None = None
    while True:
        page = client.search(query, token, size)
        yield page.items
        if page.next_token is None:
            return
        token = page.next_token


def status_entries(client: TrackerClient, item: Item) -> list[HistoryEntry]:
    """The item's status changes as history, with who made them (bots and Flowkeeper's own moves
    do not count as activity)."""
    entries, me = [], client.whoami().id
    for change, author, when in client.status_history(item.key):
        if not isinstance(when, datetime):
            continue
        actor = as_own(author, me)
        current = change.new == item.status.name
        entries.append(HistoryEntry(
            at=when, field="status", actor_kind=actor.kind if actor else ActorKind.HUMAN,
            actor_id=actor.id if actor else None, old=status_name(change.old), new=status_name(change.new),
            new_category=item.status.category if current else None,
        ))
    return entries


def _with_entry_time(item: Item, entries: list[HistoryEntry]) -> Item:
    """When the status was entered, from the history just read (a search does not carry it)."""
    return entered(item, [(e.new, e.at) for e in entries])


def _created(item: Item, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    if item.created_at is None:
        return []
    first = entries[0].old if entries else item.status.name
    category = item.status.category if first == item.status.name else None
    return [HistoryEntry(at=item.created_at, field="created", actor_kind=ActorKind.HUMAN, new=first,
                         new_category=category)]


def _page(services: Services, client: TrackerClient, tracker: str, found: tuple[Item, ...], history: bool,
          report: SyncReport, clock: Callable[[], datetime]) -> None:
    ids = [i.id for i in found]
    extra: dict[str, list[HistoryEntry]] = {}
    items = list(found)
    if history:
        for n, item in enumerate(items):
            try:
                entries = status_entries(client, item)
            except TrackerError as error:
                report.errors.append(f"{item.key}: {error}")
                continue
            extra[item.id] = _created(item, entries) + entries
            items[n] = _with_entry_time(item, entries)
            report.history += len(entries)
    mirrored = mirrored_items(services.store, tracker, ids)
    active = human_activity(services.store, tracker, ids).keys()
    items, counted = first_sight(client, items, active)
    _fresh, new = refresh(services.store, tracker, items, mirrored, active, clock(), extra, counted)
    report.items += len(items)
    report.new += new
    report.pages += 1


def sync(services: Services, tracker: str, *, history: bool = True, progress: Progress | None = None,
         clock: Callable[[], datetime] = utcnow) -> SyncReport:
    """Backfill the open items of the scope (and flagged ones), with their status history."""
    client = services.clients[tracker]
    report, started, began = SyncReport(tracker, "sync"), time.monotonic(), clock()
    query = scope_query(services, tracker, status_categories=OPEN)
    for found in pages(client, query):
        _page(services, client, tracker, found, history, report, clock)
        if progress is not None:
            progress(report.items, report.pages)
    report.seconds = time.monotonic() - started
    _remember(services, f"{tracker}.sync.last", report, began)
    return report


def updated_since(tracker: str, since: datetime) -> str:
    """The tracker's own filter text for "updated at or after `since`" (widened, never narrowed)."""
    if tracker == "jira":  # JQL reads dates in the account's zone: start 14 h earlier to cover any
        widened = since.astimezone(UTC) - timedelta(hours=14)
        return f'updated >= "{widened:%Y-%m-%d %H:%M}"'
    stamp = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"updatedAt": {"gte": stamp}})


def reconcile(services: Services, tracker: str, *, clock: Callable[[], datetime] = utcnow,
              default_window: timedelta = timedelta(days=1)) -> SyncReport:
    """Re-read every item of the scope updated since the last sync or reconcile (minus a margin)."""
    report, started, now = SyncReport(tracker, "reconcile"), time.monotonic(), clock()
    leases, owner = leases_for(services.redis, services.store.engine), f"reconcile-{now.timestamp()}"
    if not leases.acquire(f"reconcile:{tracker}", owner, timedelta(minutes=30)):
        report.errors.append("another reconcile of this tracker is running")
        return report
    try:
        since = _last_run(services, tracker) or now - default_window
        query = scope_query(services, tracker, extra=updated_since(tracker, since - LATE_DELIVERY_MARGIN))
        query = SearchQuery(teams=query.teams, extra=query.extra)  # every status: closed items too
        for found in pages(services.clients[tracker], query):
            _page(services, services.clients[tracker], tracker, found, False, report, clock)
    finally:
        leases.release(f"reconcile:{tracker}", owner)
    report.seconds = time.monotonic() - started
    _remember(services, f"{tracker}.reconcile.last", report, now)
    return report


def reconcile_due(services: Services, tracker: str, every: timedelta, now: datetime) -> bool:
    """Half the interval since the last reconcile: two clocks firing together run it once."""
    value = services.store.service.get(f"{tracker}.reconcile.last")
    if not isinstance(value, dict) or not value.get("at"):
        return True
    return now - datetime.fromisoformat(value["at"]) >= every / 2


def _last_run(services: Services, tracker: str) -> datetime | None:
    times = []
    for key in (f"{tracker}.reconcile.last", f"{tracker}.sync.last"):
        value = services.store.service.get(key)
        if isinstance(value, dict) and value.get("at"):
            times.append(datetime.fromisoformat(value["at"]))
    return max(times) if times else None


def _remember(services: Services, key: str, report: SyncReport, now: datetime) -> None:
    services.store.service.put(key, {
        "at": now.isoformat(), "items": report.items, "new": report.new, "history": report.history,
        "pages": report.pages, "seconds": round(report.seconds, 2), "errors": report.errors[:10],
    }, now)
