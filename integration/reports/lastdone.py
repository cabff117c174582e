"""The period's completions read lean: each item's last entry into done, a range of the kept `cycles`.

An item completes at its last entry into done while its status is done now
(`integration/store/completions.py`). That last entry and the item's first start are kept at
write time (`cycles`, integration.store.cycle_stays), so the completions of [since, until) are
the items done now whose kept last entry falls in it: one index range, no read of the history.
Sections that need only when items finished (throughput) or how long they took (cycle-time
percentiles) read them this way when no other section reads the full ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, FromClause, Subquery, and_, select

from integration.reports.scope import Scope, item_filter
from integration.store.tables import cycles
from integration.store.tables import items as i


def last_done(since: datetime) -> Subquery:
    """(tracker, item_id, done_at, started_at): each item's last entry into done, at or after `since`,
    and its first start."""
    return (select(cycles.c.tracker, cycles.c.item_id, cycles.c.done_at, cycles.c.started_at)
            .where(cycles.c.done_at >= since)
            .subquery("last_done"))


def completed(last: Subquery, scope: Scope, until: datetime) -> tuple[FromClause, ColumnElement[bool]]:
    """`last` joined to the items, and the clause that keeps the scope's completions before `until`."""
    joined = last.join(i, and_(i.c.tracker == last.c.tracker, i.c.item_id == last.c.item_id))
    return joined, and_(item_filter(i, scope), i.c.status_category == "done", last.c.done_at < until)
