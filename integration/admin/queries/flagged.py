"""Items currently flagged: rules' open episodes joined to the mirror, filtered and paged.

An open (active) episode is a rule whose condition holds on the item and which acted on
it — in live mode the flag is on the item; in dry mode Flowkeeper only recorded that it
would have flagged it. Both are listed, marked by mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

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


def _joined() -> Any:
    return rule_states.outerjoin(items, and_(items.c.tracker == rule_states.c.tracker,
                                             items.c.item_id == rule_states.c.item_id))


def _where(query: Any, f: FlaggedFilter) -> Any:
    rs = rule_states.c
    query = query.where(rs.active.is_(True))
    if f.rule:
        query = query.where(rs.rule == f.rule)
    if f.tracker:
        query = query.where(rs.tracker == f.tracker)
    if f.mode:
        query = query.where(rs.mode == f.mode)
    if f.team:
        query = query.where(items.c.team == f.team)
    return query


def flagged_page(store: Store, f: FlaggedFilter, offset: int = 0, limit: int = PAGE) -> list[FlaggedItem]:
    """Oldest flags first: the items waiting longest are the ones to look at."""
    rs, it = rule_states.c, items.c
    query = _where(select(rs.tracker, rs.item_key, rs.rule, rs.mode, rs.opened_at, rs.last_action_at, rs.steps_done,
                          it.title, it.team, it.assignee_name, it.status_name, it.data).select_from(_joined()), f)
    query = query.order_by(rs.opened_at, rs.id).offset(offset).limit(limit)
    with store.engine.connect() as conn:
        return [_flagged(row) for row in conn.execute(query)]


def _flagged(row: Any) -> FlaggedItem:
    data = row.data or {}
    return FlaggedItem(
        tracker=row.tracker, key=row.item_key, rule=row.rule, mode=row.mode, opened_at=row.opened_at,
        last_action_at=row.last_action_at, steps_done=tuple(row.steps_done or ()), title=row.title, team=row.team,
        assignee=row.assignee_name, status=row.status_name, url=data.get("url") if isinstance(data, dict) else None,
    )


def flagged_count(store: Store, f: FlaggedFilter) -> int:
    query = select(func.count()).select_from(_joined() if f.team else rule_states)
    with store.engine.connect() as conn:
        return int(conn.execute(_where(query, f)).scalar() or 0)


def counts_by_rule(store: Store) -> dict[tuple[str, str], int]:
    """How many items each rule has flagged now, per mode: the page's summary line."""
    rs = rule_states.c
    query = select(rs.rule, rs.mode, func.count()).where(rs.active.is_(True)).group_by(rs.rule, rs.mode)
    with store.engine.connect() as conn:
        return {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}


def teams(store: Store) -> list[str]:
    """Teams / projects present in the mirror, for the filter's choices."""
    query = select(items.c.team).where(items.c.team.is_not(None)).group_by(items.c.team).order_by(items.c.team)
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(query.limit(500))]
