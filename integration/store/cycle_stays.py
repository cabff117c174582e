"""Each item's seconds in each status over its cycle, kept at write time: `cycle_stays`.

An item's cycle runs from its first entry into an in-progress status to its last entry
into done (the completions' start and finish, integration.store.completions). Its status
stays follow one another, so the stays that overlap that span are exactly the ones begun
in [first start, last done), each whole: [at, the next status row's at). Their seconds,
summed per status and category, are kept with the cycle's end, so flow efficiency reads a
few rows per item completed in the period instead of every stay of each. Beside them, table
`cycles` keeps each item's first status row, first start and last entry into done (items that
entered done), so a period's completions are a range of that last entry.

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

from integration.store import first_starts
from integration.store.completions import STATUS_FIELDS
from integration.store.tables import cycle_stays, cycles
from integration.store.tables import item_history as h

NO_STATUS, NO_CATEGORY = "(no status)", "unknown"  # as the reports name a status row without them
Stay = tuple[datetime, str | None, str | None]  # a status row: (at, status, category)
Key = tuple[str, str, str, str]  # tracker, item id, status, category
Cycle = dict[Key, tuple[datetime, float]]  # → (the cycle's end, seconds)
Span = tuple[datetime, datetime | None, datetime]  # first status row, first start, last entry into done
Spans = dict[tuple[str, str], Span]  # (tracker, item id) → its span


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


def span_of(stays: Sequence[Stay]) -> Span | None:
    """An item's first status row, first start and last entry into done; None if it never entered done."""
    done = max((at for at, _, category in stays if category == "done"), default=None)
    if done is None:
        return None
    started = min((at for at, _, category in stays if category == "in_progress"), default=None)
    return min(at for at, _, _ in stays), started, done


def kept_rows(rows: Iterable[Any]) -> tuple[Cycle, Spans]:
    """The kept rows of items from their status rows (tracker, item_id, at, new, new_category), ordered
    by tracker, item id, at and id."""
    seconds_of: Cycle = {}
    spans: Spans = {}
    for (tracker, item_id), group in itertools.groupby(rows, key=lambda r: (r.tracker, r.item_id)):
        stays = [(r.at, r.new, r.new_category) for r in group]
        span = span_of(stays)
        if span is None:
            continue
        spans[(tracker, item_id)] = span
        found = cycle_of(stays)
        if found is not None:
            done, seconds = found
            for (status, category), total in seconds.items():
                seconds_of[(tracker, item_id, status, category)] = (done, total)
    return seconds_of, spans


def _status_rows() -> Any:
    return (select(h.c.tracker, h.c.item_id, h.c.at, h.c.new, h.c.new_category)
            .where(h.c.field.in_(STATUS_FIELDS)).order_by(h.c.tracker, h.c.item_id, h.c.at, h.c.id))


def refresh(conn: Connection, tracker: str, item_ids: list[str]) -> None:
    """Recompute the kept rows of these items from their whole status history, in the caller's transaction.

    History rows are never removed, so an item that has not entered done now never had kept rows: only
    the items that have are rewritten (most writes happen before an item is done, and skip this). Each
    item's first start (integration.store.first_starts) is kept from the same rows."""
    query = _status_rows().where(h.c.tracker == tracker, h.c.item_id.in_(item_ids))
    rows = conn.execute(query).all()
    first_starts.keep(conn, first_starts.starts_of(rows))  # items not done yet have started too
    seconds, spans = kept_rows(rows)
    ended = sorted(item_id for _, item_id in spans)
    if not ended:
        return
    for table in (cycle_stays, cycles):
        conn.execute(delete(table).where(table.c.tracker == tracker, table.c.item_id.in_(ended)))
    _insert(conn, seconds, spans)


def _insert(conn: Connection, seconds: Cycle, spans: Spans | None) -> None:
    values = [{"tracker": k[0], "item_id": k[1], "status": k[2], "category": k[3], "done_at": done, "seconds": s}
              for k, (done, s) in sorted(seconds.items())]
    if values:
        conn.execute(insert(cycle_stays), values)
    rows = [{"tracker": tracker, "item_id": item_id, "first_at": first, "started_at": started, "done_at": done}
            for (tracker, item_id), (first, started, done) in sorted((spans or {}).items())]
    if rows:
        conn.execute(insert(cycles), rows)


def expected(conn: Connection) -> tuple[Cycle, Spans]:
    """The rows every item's status history gives, computed from scratch."""
    return kept_rows(conn.execute(_status_rows().execution_options(yield_per=20_000)))


def fill(conn: Connection, *, spans: bool = True) -> None:
    """Compute the kept rows from the whole history (a release's first start, the rebuild, data loaded in bulk); `spans`
    False: `cycle_stays` only (the schema before table `cycles`)."""
    conn.execute(delete(cycle_stays))
    if spans:
        conn.execute(delete(cycles))
    seconds, found = expected(conn)
    _insert(conn, seconds, found if spans else None)


def kept(conn: Connection) -> tuple[Cycle, Spans]:
    """The kept rows, as `expected` gives them."""
    seconds = {(r.tracker, r.item_id, r.status, r.category): (r.done_at, r.seconds)
               for r in conn.execute(select(cycle_stays))}
    return seconds, {(r.tracker, r.item_id): (r.first_at, r.started_at, r.done_at) for r in conn.execute(select(cycles))}
