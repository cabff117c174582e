""""Flagged now", defined once: the Flagged page, the reports and the digest count with it.

A flag is a rule's open episode on an item (`rule_states.active`), live or dry run. It
counts while the item is not known to be deleted — an item not (yet) in the mirror still
counts, since the episode says a rule acted on it — and the digest's own bookkeeping
(the `digest:` pseudo-rules that post digests through the executor) is never a flag.
Scoping by team needs the mirror: an item the mirror does not know has no team.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from integration.store.tables import items, rule_states

DIGEST_PREFIX = "digest:"  # the digest writes through the executor under this pseudo-rule


def flag_join() -> Any:
    """Open episodes with their mirror entry where there is one."""
    return rule_states.outerjoin(
        items, and_(items.c.tracker == rule_states.c.tracker, items.c.item_id == rule_states.c.item_id)
    )


def open_episode() -> ColumnElement[bool]:
    """The condition over `rule_states` alone: an open episode of a rule (not the digest's bookkeeping).
    Flagged now is this on an item not known to be deleted."""
    return and_(rule_states.c.active.is_(True), ~rule_states.c.rule.startswith(DIGEST_PREFIX))


def flagged_now(trackers: Collection[str] = (), teams: Collection[str] = (),
                rules: Collection[str] | None = None) -> ColumnElement[bool]:
    """The condition over `flag_join()`: flagged now, within the trackers, teams and rules given (empty: all)."""
    rs = rule_states.c
    clauses: list[ColumnElement[bool]] = [
        open_episode(),
        or_(items.c.deleted.is_(None), items.c.deleted.is_(False)),
    ]
    if trackers:
        clauses.append(rs.tracker.in_(sorted(trackers)))
    if teams:
        clauses.append(items.c.team.in_(sorted(teams)))
    if rules is not None:
        clauses.append(rs.rule.in_(sorted(rules)))
    return and_(*clauses)


def flags_of(engine: Engine, key: str, tracker: str | None = None) -> list[dict[str, Any]]:
    """The flags an item carries now, by key (the mirror need not know it): rule, mode, opened_at,
    steps_done, last_action_at, tracker."""
    rs = rule_states.c
    query = (select(rs.tracker, rs.rule, rs.mode, rs.opened_at, rs.steps_done, rs.last_action_at)
             .select_from(flag_join())
             .where(flagged_now(trackers=[tracker] if tracker else ()), rs.item_key == key)
             .order_by(rs.opened_at, rs.rule))
    with engine.connect() as conn:
        return [{**row._mapping, "steps_done": list(row.steps_done or ())} for row in conn.execute(query)]
