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


def flagged_page(store: Store, f: FlaggedFilter, offset: int = 0, limit: int = PAGE) -> FlaggedPage:
    """Oldest flags first: the items waiting longest are the ones to look at.

    Two steps: pick the page's episode ids with the total alongside (one pass: sorting
    already reads every match), then read the item facts for those fifty only — an OFFSET
    deep into the list must not drag every skipped row's item JSON along.
    """
    rs, it = rule_states.c, items.c
    ids = _where(select(rs.id, func.count().over()).select_from(flag_join()), f)
    ids = ids.order_by(rs.opened_at, rs.id).offset(offset).limit(limit)
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
        it.data,
    ).select_from(flag_join())
    with read_connection(store.engine) as conn:
        found = conn.execute(ids).all()
        page = [row[0] for row in found]
        rows = {row.id: row for row in conn.execute(details.where(rs.id.in_(page)))} if page else {}
    total = int(found[0][1]) if found else flagged_count(store, f)
    return FlaggedPage([_flagged(rows[i]) for i in page if i in rows], total)


def _flagged(row: Any) -> FlaggedItem:
    data = row.data or {}
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
        url=data.get("url") if isinstance(data, dict) else None,
    )


def flagged_count(store: Store, f: FlaggedFilter) -> int:
    query = select(func.count()).select_from(flag_join())
    with read_connection(store.engine) as conn:
        return int(conn.execute(_where(query, f)).scalar() or 0)


def counts_by_rule(store: Store) -> dict[str, int]:
    """How many items each rule has flagged now (live and dry run): the page's summary line."""
    rs = rule_states.c
    query = select(rs.rule, func.count()).select_from(flag_join()).where(flagged_now()).group_by(rs.rule)
    with read_connection(store.engine) as conn:
        return {row[0]: int(row[1]) for row in conn.execute(query)}


def teams(store: Store) -> list[str]:
    """Teams / projects present in the mirror, for the filter's choices."""
    query = select(items.c.team).distinct()
    with read_connection(store.engine) as conn:
        return sorted(row[0] for row in conn.execute(query) if row[0] is not None)[:500]
