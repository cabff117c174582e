"""Each item's seconds in each status over its cycle, kept at write time: `cycle_stays`.

An item's cycle runs from its first entry into an in-progress status to its last entry
into done (the completions' start and finish, integration.store.completions). Its status
stays follow one another, so the stays that overlap that span are exactly the ones begun
in [first start, last done), each whole: [at, the next status row's at). Their seconds,
summed per status and category, are kept with the cycle's end, so flow efficiency reads a
few rows per item completed in the period instead of every stay of each.

The rows depend on the item's status rows alone (its team and deleted flag are read from
`items` by the reports), so every history write recomputes the rows of the items it wrote
(integration.store.stays.close_stays), in the same turn as their stays' ends.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from integration.store.completions import STATUS_FIELDS
from integration.store.tables import cycle_stays
from integration.store.tables import item_history as h

NO_STATUS, NO_CATEGORY = "(no status)", "unknown"  # as the reports name a status row without them
Stay = tuple[datetime, str | None, str | None]  # a status row: (at, status, category)
Key = tuple[str, str, str, str]  # tracker, item id, status, category
Cycle = dict[Key, tuple[datetime, float]]  # → (the cycle's end, seconds)


def cycle_of(stays: Sequence[Stay]) -> tuple[datetime, dict[tuple[str, str], float]] | None:
    """An item's cycle end and seconds per (status, category) from its status rows in (at, id) order;
    None without a start, a finish, or any time between them."""
    started = min((at for at, _, category in stays if category == "in_progress"), default=None)
    done = max((at for at, _, category in stays if category == "done"), default=None)
    if started is None or done is None:
        return None
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for (at, status, category), (next_at, _, _) in itertools.pairwise(stays):
        if started <= at < done and next_at > at:
            name = NO_STATUS if status is None else status
            seconds[(name, NO_CATEGORY if category is None else category)] += (next_at - at).total_seconds()
    return (done, dict(seconds)) if seconds else None


def cycles(rows: Iterable[Any]) -> Cycle:
    """The kept rows of items from their status rows (tracker, item_id, at, new, new_category), ordered
    by tracker, item id, at and id."""
    out: Cycle = {}
    for (tracker, item_id), group in itertools.groupby(rows, key=lambda r: (r.tracker, r.item_id)):
        found = cycle_of([(r.at, r.new, r.new_category) for r in group])
        if found is not None:
            done, seconds = found
            for (status, category), total in seconds.items():
                out[(tracker, item_id, status, category)] = (done, total)
    return out


def _status_rows() -> Any:
    return (select(h.c.tracker, h.c.item_id, h.c.at, h.c.new, h.c.new_category)
            .where(h.c.field.in_(STATUS_FIELDS)).order_by(h.c.tracker, h.c.item_id, h.c.at, h.c.id))


def refresh(conn: Connection, tracker: str, item_ids: list[str]) -> None:
    """Recompute the kept rows of these items from their whole status history, in the caller's transaction."""
    conn.execute(delete(cycle_stays).where(cycle_stays.c.tracker == tracker, cycle_stays.c.item_id.in_(item_ids)))
    query = _status_rows().where(h.c.tracker == tracker, h.c.item_id.in_(item_ids))
    _insert(conn, cycles(conn.execute(query)))


def _insert(conn: Connection, rows: Cycle) -> None:
    values = [{"tracker": k[0], "item_id": k[1], "status": k[2], "category": k[3], "done_at": done, "seconds": s}
              for k, (done, s) in sorted(rows.items())]
    if values:
        conn.execute(insert(cycle_stays), values)


def expected(conn: Connection) -> Cycle:
    """The rows every item's status history gives, computed from scratch."""
    return cycles(conn.execute(_status_rows().execution_options(yield_per=20_000)))


def fill(conn: Connection) -> None:
    """Compute the kept rows from the whole history (the migration, and data loaded in bulk)."""
    conn.execute(delete(cycle_stays))
    _insert(conn, expected(conn))


def kept(conn: Connection) -> Cycle:
    """The kept rows, as `expected` gives them."""
    return {(r.tracker, r.item_id, r.status, r.category): (r.done_at, r.seconds)
            for r in conn.execute(select(cycle_stays))}
