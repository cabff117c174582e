"""Items currently flagged: rules' open episodes joined to the mirror, filtered and paged.

An open (active) episode is a rule whose condition holds on the item and which acted on
it — in live mode the flag is on the item; in dry mode Flowkeeper only recorded that it
would have flagged it. Both are listed, marked by mode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from integration.store.db import read_connection
from integration.store.flags import flag_join, flagged_now, open_episode
from integration.store.store import Store
from integration.store.tables import items, rule_states

PAGE = 50


@dataclass(frozen=True)
class FlaggedFilter:
    rule: str | None = None
    tracker: str | None = None
    team: str | None = None
    mode: str | None = None  # live / dry


@dataclass(frozen=True)
class FlaggedItem:
    tracker: str
    key: str
    rule: str
    mode: str
    opened_at: datetime | None
    last_action_at: datetime | None
    steps_done: tuple[str, ...]
    title: str | None
    team: str | None
    assignee: str | None
    status: str | None
    url: str | None


def _where(query: Any, f: FlaggedFilter) -> Any:
    """Flagged now (integration.store.flags: the reports and the digest count the same), filtered."""
    query = query.where(flagged_now(trackers=[f.tracker] if f.tracker else (), teams=[f.team] if f.team else (),
                                    rules=[f.rule] if f.rule else None))
    return query.where(rule_states.c.mode == f.mode) if f.mode else query


@dataclass(frozen=True)
class FlaggedPage:
    items: list[FlaggedItem]
    total: int


Group = tuple[str, str, str]  # rule, mode, tracker
DELETED_CHUNK = 500  # deleted items' flags are counted this many items at a time


@dataclass(frozen=True)
class FlagCounts:
    """Flags now per (rule, mode, tracker): the page's total and its per-rule summary from one
    index-only count, without joining every flag to the mirror (a team filter still must)."""

    groups: dict[Group, int]
    deleted: tuple[tuple[str, str], ...] = ()  # (tracker, item id) of the items known to be deleted

    def total(self, f: FlaggedFilter) -> int:
        wanted = (f.rule, f.mode, f.tracker)
        return sum(n for group, n in self.groups.items()
                   if all(want is None or want == got for want, got in zip(wanted, group, strict=True)))

    def by_rule(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for (rule, *_), n in self.groups.items():
            found[rule] = found.get(rule, 0) + n
        return found


def flag_counts(store: Store) -> FlagCounts:
    """Open episodes per group (a covering index, read in its own order: no sort), less those on
    items the mirror knows are deleted (few, found through the index of deleted items) — the
    same flags as `flagged_now`, without a mirror lookup for each of them."""
    rs = rule_states.c
    groups: Counter[Group] = Counter()
    with read_connection(store.engine) as conn:
        for rule, mode, tracker, n in conn.execute(select(rs.rule, rs.mode, rs.tracker, func.count())
                                                   .where(open_episode()).group_by(rs.rule, rs.mode, rs.tracker)):
            groups[(rule, mode, tracker)] += int(n)
        deleted = deleted_items(conn)
        for tracker in {t for t, _ in deleted}:
            ids = [i for t, i in deleted if t == tracker]
            for chunk in (ids[n:n + DELETED_CHUNK] for n in range(0, len(ids), DELETED_CHUNK)):
                gone = select(rs.rule, rs.mode, rs.tracker).where(open_episode(), rs.tracker == tracker,
                                                                   rs.item_id.in_(chunk))
                groups.subtract((rule, mode, t) for rule, mode, t in conn.execute(gone))
    return FlagCounts({group: n for group, n in groups.items() if n > 0}, tuple(deleted))


def deleted_items(conn: Connection) -> list[tuple[str, str]]:
    """(tracker, item id) of the items known to be deleted, from their partial index."""
    if conn.dialect.name == "sqlite":  # it has no figures for an index holding nothing, and would scan another
        query = "SELECT tracker, item_id FROM items INDEXED BY ix_items_deleted WHERE deleted = 1"
        return [(t, i) for t, i in conn.exec_driver_sql(query)]
    it = items.c
    return [(t, i) for t, i in conn.execute(select(it.tracker, it.item_id).where(it.deleted == True))]  # noqa: E712


def team_total(store: Store, f: FlaggedFilter) -> int:
    """The total under a team filter: only the mirror knows an item's team."""
    query = _where(select(func.count()).select_from(flag_join()), f)
    with read_connection(store.engine) as conn:
        return int(conn.execute(query).scalar() or 0)


def _page_ids(f: FlaggedFilter, deleted: Sequence[tuple[str, str]]) -> Any:
    """The flags' ids under `f`: from the open-episodes index alone, leaving out the (few) deleted
    items by id, so a deep page walks index entries only; a team filter, or many deleted items,
    walk the flag join instead."""
    rs = rule_states.c
    if f.team or len(deleted) > DELETED_CHUNK:
        return _where(select(rs.id).select_from(flag_join()), f)
    query = select(rs.id).where(open_episode())
    for column, value in ((rs.rule, f.rule), (rs.tracker, f.tracker), (rs.mode, f.mode)):
        if value:
            query = query.where(column == value)
    for tracker in sorted({t for t, _ in deleted}):
        query = query.where(~and_(rs.tracker == tracker, rs.item_id.in_([i for t, i in deleted if t == tracker])))
    return query


def flagged_page(store: Store, f: FlaggedFilter, offset: int = 0, limit: int = PAGE,
                 counts: FlagCounts | None = None) -> FlaggedPage:
    """Oldest flags first: the items waiting longest are the ones to look at.

    Two steps: walk the flagged-episodes index in page order to pick the page's episode
    ids (it stops after offset + limit; no sort of every flag), then read the item facts
    for those fifty only — an OFFSET deep into the list must not drag every skipped row's
    item JSON along. The total comes from the grouped counts (`counts`, or read here), or under
    a team filter from a count over the flag join.
    """
    rs, it = rule_states.c, items.c
    counts = counts or flag_counts(store)
    ids = _page_ids(f, counts.deleted).order_by(rs.opened_at, rs.id).offset(offset).limit(limit)
    details = select(
        rs.id,
        rs.tracker,
        rs.item_key,
        rs.rule,
        rs.mode,
        rs.opened_at,
        rs.last_action_at,
        rs.steps_done,
        it.title,
        it.team,
        it.assignee_name,
        it.status_name,
        it.data["url"].as_string().label("url"),  # not the whole item JSON, decoded per row
    ).select_from(flag_join())
    with read_connection(store.engine) as conn:
        page = [row[0] for row in conn.execute(ids)]
        rows = {row.id: row for row in conn.execute(details.where(rs.id.in_(page)))} if page else {}
    total = team_total(store, f) if f.team else counts.total(f)
    return FlaggedPage([_flagged(rows[i]) for i in page if i in rows], total)


def _flagged(row: Any) -> FlaggedItem:
    return FlaggedItem(
        tracker=row.tracker,
        key=row.item_key,
        rule=row.rule,
        mode=row.mode,
        opened_at=row.opened_at,
        last_action_at=row.last_action_at,
        steps_done=tuple(row.steps_done or ()),
        title=row.title,
        team=row.team,
        assignee=row.assignee_name,
        status=row.status_name,
        url=row.url,
    )


def counts_by_rule(store: Store) -> dict[str, int]:
    """How many items each rule has flagged now (live and dry run): the page's summary line."""
    return flag_counts(store).by_rule()


def teams(store: Store) -> list[str]:
    """Teams / projects present in the mirror, for the filter's choices."""
    query = select(items.c.team).distinct()
    with read_connection(store.engine) as conn:
        return sorted(row[0] for row in conn.execute(query) if row[0] is not None)[:500]
