"""The period's completions read lean: each item's last entry into done from one grouped range scan.

An item completes at its last entry into done while its status is done now
(`integration/store/completions.py`). So the completions of [since, until) are exactly the
items done now whose last done entry since `since` falls before `until`: one scan of the
period's done entries, where the store's query probes each item three times and returns
every timestamp. Sections that need only when items finished (throughput) or how long they
took (cycle-time percentiles) read them this way when no other section reads the full ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, FromClause, Subquery, and_, func, select

from integration.reports.scope import Scope, item_filter
from integration.store.completions import STATUS_FIELDS
from integration.store.tables import item_history as h
from integration.store.tables import items as i


def last_done(since: datetime) -> Subquery:
    """(tracker, item_id, done_at): each item's last entry into done at or after `since`."""
    return (select(h.c.tracker, h.c.item_id, func.max(h.c.at).label("done_at"))
            .where(h.c.field.in_(STATUS_FIELDS), h.c.new_category == "done", h.c.at >= since)
            .group_by(h.c.tracker, h.c.item_id)
            .subquery("last_done"))


def completed(last: Subquery, scope: Scope, until: datetime) -> tuple[FromClause, ColumnElement[bool]]:
    """`last` joined to the items, and the clause that keeps the scope's completions before `until`."""
    joined = last.join(i, and_(i.c.tracker == last.c.tracker, i.c.item_id == last.c.item_id))
    return joined, and_(item_filter(i, scope), i.c.status_category == "done", last.c.done_at < until)
