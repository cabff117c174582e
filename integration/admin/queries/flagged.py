"""Items currently flagged: rules' open episodes joined to the mirror, filtered and paged.

An open (active) episode is a rule whose condition holds on the item and which acted on
it — in live mode the flag is on the item; in dry mode Flowkeeper only recorded that it
would have flagged it. Both are listed, marked by mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from integration.store.db import read_connection
from integration.store.flags import flag_join, flagged_now
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


Group = tuple[str, str, str, str | None]  # rule, mode, tracker, team


@dataclass(frozen=True)
class FlagCounts:
    """Flags now per (rule, mode, tracker, team): the page's total under any filter and its
    per-rule summary, from one pass over the flags instead of one count per figure."""

    groups: dict[Group, int]

    def total(self, f: FlaggedFilter) -> int:
        wanted = (f.rule, f.mode, f.tracker, f.team)
        return sum(n for group, n in self.groups.items()
                   if all(want is None or want == got for want, got in zip(wanted, group, strict=True)))

    def by_rule(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for (rule, *_), n in self.groups.items():
            found[rule] = found.get(rule, 0) + n
        return found


def flag_counts(store: Store) -> FlagCounts:
    """Answered from two covering indexes (the flagged-episodes index and the mirror's flag
    join index) without reading a row of either table."""
    rs, it = rule_states.c, items.c
    query = (select(rs.rule, rs.mode, rs.tracker, it.team, func.count()).select_from(flag_join())
             .where(flagged_now()).group_by(rs.rule, rs.mode, rs.tracker, it.team))
    with read_connection(store.engine) as conn:
        return FlagCounts({(r, m, t, team): int(n) for r, m, t, team, n in conn.execute(query)})


def flagged_page(store: Store, f: FlaggedFilter, offset: int = 0, limit: int = PAGE,
                 counts: FlagCounts | None = None) -> FlaggedPage:
    """Oldest flags first: the items waiting longest are the ones to look at.

    Two steps: walk the flagged-episodes index in page order to pick the page's episode
    ids (it stops after offset + limit; no sort of every flag), then read the item facts
    for those fifty only — an OFFSET deep into the list must not drag every skipped row's
    item JSON along. The total comes from the grouped counts (`counts`, or read here).
    """
    rs, it = rule_states.c, items.c
    ids = _where(select(rs.id).select_from(flag_join()), f).order_by(rs.opened_at, rs.id).offset(offset).limit(limit)
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
    total = (counts or flag_counts(store)).total(f)
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
