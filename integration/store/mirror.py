"""The item mirror and its history: what rules, sweeps and reports read instead of the tracker."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update

from integration.codec import from_jsonable, to_jsonable
from integration.store.db import read_connection, reading, writing
from integration.store.inserts import insert_new
from integration.store.prepared import Prepared
from integration.store.stay_days import counted_as
from integration.store.stays import close_written, move_stays, take_turns
from integration.store.tables import item_history, items
from rules.limits import item_groups
from rules.model import ActorKind, Item, StatusCategory


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change to an item, with who made it: staleness counts only human entries."""

    at: datetime
    field: str
    actor_kind: ActorKind
    old: str | None = None
    new: str | None = None
    old_category: StatusCategory | None = None
    new_category: StatusCategory | None = None
    actor_id: str | None = None


def history_row(tracker: str, item: Item, entry: HistoryEntry) -> dict[str, Any]:
    """The `item_history` row for one change; its fingerprint makes a redelivered change a duplicate."""
    return {
        "tracker": tracker, "item_id": item.id, "key": item.key, "team": item.team, "at": entry.at,
        "field": entry.field, "old": entry.old, "new": entry.new, "actor_id": entry.actor_id,
        "actor_kind": entry.actor_kind.value,
        "old_category": entry.old_category.value if entry.old_category else None,
        "new_category": entry.new_category.value if entry.new_category else None,
        "fingerprint": _fingerprint(tracker, item.id, entry),
    }


def _fingerprint(tracker: str, item_id: str, entry: HistoryEntry) -> str:
    raw = "\x1f".join([tracker, item_id, entry.at.isoformat(), entry.field, str(entry.old), str(entry.new)])
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def item_columns(item: Item) -> dict[str, Any]:
    """The `items` row's columns for `item` (besides `synced_at`): what queries filter on, and the item."""
    return {
        "tracker": item.tracker.value,
        "item_id": item.id,
        "key": item.key,
        "team": item.team,
        "parent": item.parent,
        "project": item.project,
        "title": None if item.deleted else item.title,
        "status_name": item.status.name,
        "status_category": item.status.category.value,
        "assignee_id": item.assignee.id if item.assignee else None,
        "assignee_name": item.assignee.name if item.assignee else None,
        "estimate": item.estimate,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "status_changed_at": item.status_changed_at,
        "last_activity_at": item.last_activity_at,
        "deleted": item.deleted,
        "data": to_jsonable(item),
    }


def _later_entry(conn: Connection, row_id: int, held: Item, older: Item) -> Item:
    """The mirror's state, entered later when an older delivery of the same status says so.

    A late webhook of a status change (X → Y → X, the last arriving after a later update)
    tells when X was entered again; the mirror may hold the earlier entry, taken from itself
    (`integration.status_entry`). Entry times only move forward here, and only for the status
    the mirror holds.
    """
    entered = older.status_changed_at
    if entered is None or "status_changed_at" in older.unknown or older.status != held.status:
        return held
    if "status_changed_at" not in held.unknown and held.status_changed_at is not None \
            and held.status_changed_at >= entered:
        return held
    fixed = held.with_fields(status_changed_at=entered, unknown=held.unknown - {"status_changed_at"})
    conn.execute(update(items).where(items.c.id == row_id).values(status_changed_at=entered, data=to_jsonable(fixed)))
    return fixed


# The webhook job's statements, built once: building a statement and its cache key costs more
# CPU than SQLite takes to run it. Values are passed as parameters at execution; those every job
# runs are compiled once and run on the driver's cursor (`Prepared`).
_ONE_ITEM = (items.c.tracker == bindparam("tracker"), items.c.item_id == bindparam("item_id"))
_GET = Prepared(select(items.c.data).where(*_ONE_ITEM))  # every job's first read: on the driver's cursor
_ROW = Prepared(select(items.c.id, items.c.updated_at, items.c.team, items.c.deleted).where(*_ONE_ITEM))
_DATA = select(items.c.data).where(items.c.id == bindparam("row_id"))  # only an older delivery needs the held state
_UPDATE_ITEM = Prepared(update(items).where(items.c.id == bindparam("row_id")))
_WIP = (select(items.c.assignee_id, func.count())
        .where(items.c.tracker == bindparam("tracker"), items.c.status_category == StatusCategory.IN_PROGRESS.value,
               items.c.deleted.is_(False), items.c.assignee_id.is_not(None))
        .group_by(items.c.assignee_id))


class Mirror:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, tracker: str, item_id: str, conn: Connection | None = None) -> Item | None:
        with reading(self.engine, conn) as conn:
            row = _GET.first(conn, {"tracker": tracker, "item_id": item_id})
        return from_jsonable(Item, row.data) if row else None

    def synced_at(self, tracker: str, item_id: str) -> datetime | None:
        """When the item's row was last stored (from the tracker, or from a delivery)."""
        with read_connection(self.engine) as conn:
            return conn.execute(
                select(items.c.synced_at).where(items.c.tracker == tracker, items.c.item_id == item_id)
            ).scalar_one_or_none()

    def unchanged(self, tracker: str, since: datetime, synced_before: datetime, *, teams: Sequence[str] = (),
                  categories: Sequence[str] = (), after: str = "", limit: int = 100) -> list[Item]:
        """Live items in scope the tracker has not changed since `since` and nobody stored since
        `synced_before`, by item id after `after`: a follow-up sweep's candidates that need no read."""
        query = select(items.c.item_id, items.c.data).where(
            items.c.tracker == tracker, items.c.deleted.is_(False), items.c.synced_at < synced_before,
            or_(items.c.updated_at < since, items.c.updated_at.is_(None)), items.c.item_id > after)
        if teams:
            query = query.where(items.c.team.in_(list(teams)))
        if categories:
            query = query.where(items.c.status_category.in_(list(categories)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(items.c.item_id).limit(limit))
            return [from_jsonable(Item, row.data) for row in rows]

    def get_by_key(self, tracker: str | None, key: str) -> Item | None:
        query = select(items.c.data).where(items.c.key == key)
        if tracker:
            query = query.where(items.c.tracker == tracker)
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        return from_jsonable(Item, row.data) if row else None

    def upsert(self, item: Item, now: datetime, *, confirmed: bool = True, conn: Connection | None = None) -> Item:
        """Store `item` unless the mirror already holds a newer state (out-of-order delivery).

        Returns the state the mirror now holds, which is what rules should see. `confirmed`
        false: the tracker did not give this state (Flowkeeper's own write applied to the copy),
        so the row keeps `synced_at`, when the tracker last did (`integration.trackers.linear.fresh`).
        With `conn`, the row is written in the caller's transaction (the webhook job stores the
        item's history and row together).
        """
        tracker, now_counted = item.tracker.value, counted_as(item.team, item.deleted)
        which = {"tracker": tracker, "item_id": item.id}
        with writing(self.engine, conn) as conn:
            take_turns(conn, tracker, [item.id])  # the team and deleted flag read here stay so until `move_stays`
            row = _ROW.first(conn, which)
            if row is None:  # one statement, no savepoint: a racing writer's row is left for the update below
                if insert_new(conn, items, {**item_columns(item), "synced_at": now}, "tracker", "item_id"):
                    move_stays(conn, tracker, {item.id: (None, now_counted)})
                    return item
                row = _ROW.first(conn, which)
                assert row is not None, "the racing writer's row"
            # a state whose time is unknown never replaces one whose time is known
            older = item.updated_at is None or item.updated_at < row.updated_at
            if row.updated_at and older and not item.deleted:
                held = from_jsonable(Item, conn.execute(_DATA, {"row_id": row.id}).scalar_one())
                return _later_entry(conn, row.id, held, item)
            stamp = {"synced_at": now} if confirmed else {}
            _UPDATE_ITEM.rowcount(conn, {**item_columns(item), **stamp, "row_id": row.id})
            move_stays(conn, tracker, {item.id: (counted_as(row.team, row.deleted), now_counted)})
        return item

    def mark_deleted(self, item: Item, now: datetime) -> None:
        """A deleted item keeps its key and history for reports, but not its title or text."""
        scrubbed = item.with_fields(title="", description=None, deleted=True, unknown=frozenset())
        tracker = item.tracker.value
        with self.engine.begin() as conn:
            take_turns(conn, tracker, [item.id])
            held = conn.execute(select(items.c.team, items.c.deleted)
                                .where(items.c.tracker == tracker, items.c.item_id == item.id)).first()
            conn.execute(
                update(items)
                .where(items.c.tracker == tracker, items.c.item_id == item.id)
                .values(**item_columns(scrubbed), synced_at=now)
            )
            if held is not None:
                move_stays(conn, tracker, {item.id: (counted_as(held.team, held.deleted), None)})

    def record_history(self, tracker: str, item: Item, entries: Iterable[HistoryEntry],
                       conn: Connection | None = None) -> int:
        """Append entries; a redelivered change (same fingerprint) is stored once. With `conn`, in
        the caller's transaction."""
        return len(self.append_history(tracker, item, entries, conn))

    def append_history(self, tracker: str, item: Item, entries: Iterable[HistoryEntry],
                       conn: Connection | None = None) -> list[dict[str, Any]]:
        """`record_history`, returning the rows it wrote (a redelivered change writes none)."""
        written = []
        with writing(self.engine, conn) as conn:
            for entry in entries:
                row = history_row(tracker, item, entry)
                if insert_new(conn, item_history, row, "fingerprint"):
                    written.append(row)
            close_written(conn, written)
        return written

    def last_activity(
        self, tracker: str, item_id: str, fields: Sequence[str] | None = None
    ) -> datetime | None:
        """Time of the last human change (optionally only of `fields`): the staleness clock."""
        query = select(func.max(item_history.c.at)).where(
            item_history.c.tracker == tracker,
            item_history.c.item_id == item_id,
            item_history.c.actor_kind == ActorKind.HUMAN.value,
        )
        if fields:
            query = query.where(item_history.c.field.in_(list(fields)))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def wip_by_assignee(self, tracker: str, conn: Connection | None = None) -> dict[str, int]:
        with reading(self.engine, conn) as conn:
            return {row[0]: int(row[1]) for row in conn.execute(_WIP, {"tracker": tracker})}

    def wip_groups(self, tracker: str, conn: Connection | None = None) -> tuple[dict[str, int], dict[str, str]]:
        """In-progress counts per group ("assignee:<id>", "team:<key>", "status:<name>") and each
        group's most recently started item id: what limits across items judge on."""
        query = select(items.c.item_id, items.c.assignee_id, items.c.team, items.c.status_name,
                       items.c.status_changed_at).where(
            items.c.tracker == tracker, items.c.status_category == StatusCategory.IN_PROGRESS.value,
            items.c.deleted.is_(False))
        counts: dict[str, int] = {}
        latest: dict[str, tuple[datetime, str]] = {}
        oldest = datetime.min.replace(tzinfo=UTC)
        with reading(self.engine, conn) as conn:
            for item_id, assignee, team, status_name, entered in conn.execute(query):
                keys = [f"assignee:{assignee}" if assignee else None, f"team:{team}" if team else None,
                        f"status:{status_name.casefold()}" if status_name else None]
                for key in filter(None, keys):
                    counts[key] = counts.get(key, 0) + 1
                    mark = (entered or oldest, item_id)
                    if key not in latest or mark > latest[key]:
                        latest[key] = mark
        return counts, {key: mark[1] for key, mark in latest.items()}

    def in_groups(self, tracker: str, groups: set[str]) -> list[Item]:
        """The mirrored in-progress items of `groups`: what to re-judge when a group's count changes."""
        columns = {"assignee": items.c.assignee_id, "team": items.c.team, "status": func.lower(items.c.status_name)}
        wanted = [columns[per] == value for per, value in (g.split(":", 1) for g in groups) if per in columns]
        if not wanted:
            return []
        query = select(items.c.data).where(items.c.tracker == tracker, items.c.deleted.is_(False),
                                           items.c.status_category == StatusCategory.IN_PROGRESS.value, or_(*wanted))
        with self.engine.connect() as conn:
            found = [from_jsonable(Item, row.data) for row in conn.execute(query)]
        return [item for item in found if groups & item_groups(item)]  # status names: casefold, not lower

    def history(self, tracker: str, item_id: str) -> list[HistoryEntry]:
        query = (
            select(item_history)
            .where(item_history.c.tracker == tracker, item_history.c.item_id == item_id)
            .order_by(item_history.c.at, item_history.c.id)
        )
        with self.engine.connect() as conn:
            return [
                HistoryEntry(
                    at=row.at,
                    field=row.field,
                    actor_kind=ActorKind(row.actor_kind),
                    old=row.old,
                    new=row.new,
                    old_category=StatusCategory(row.old_category) if row.old_category else None,
                    new_category=StatusCategory(row.new_category) if row.new_category else None,
                    actor_id=row.actor_id,
                )
                for row in conn.execute(query)
            ]
