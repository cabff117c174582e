"""Items entering and leaving each status per UTC day, kept at write time: `stay_days`.

Every status stay [at, ended_at) of a live item (its `items` row exists and is not deleted)
adds +1 on the day it begins and -1 on the day it ends, under the item's *current* tracker,
team, the stay's category and status. A period's daily levels are then a running sum over
these rows (`integration.reports.wip.levels_daily`) instead of a read of every stay. The
stay still open (`ended_at` NULL) is also counted in `opened` on its first day: a period
takes those begun before it off, because items whose status did not change since the period
began are counted with their current status instead. Ends of stays in a `FRESH_KEPT`
category are kept under the day their stay began (`began`), so "done during the period"
is a sum too; every other row has `began` = `day`.

The rows change with what they summarise, in the same transaction: each history write
recomputes the stays it changes (integration.store.stays), and a change of an item's team
or of its deleted flag moves its whole history's contribution (`move`). Keys are upserted
in sorted order, so two writers never wait on each other's rows in opposite orders.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, select

from integration.store.completions import STATUS_FIELDS
from integration.store.inserts import dialect_insert
from integration.store.tables import item_history as h
from integration.store.tables import items as i
from integration.store.tables import stay_days

FRESH_KEPT = ("done",)  # a period counts these stays only when they began in it
NO_TEAM = ""  # the key of items without a team
NO_STATUS, NO_CATEGORY = "(no status)", "unknown"  # as the reports name a status row without them
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MOVES, OPENED = 0, 1

Key = tuple[str, str, int, str, str, int]  # tracker, team, day, category, status, began
Tally = Counter[tuple[Key, int]]  # (key, MOVES or OPENED) → change


def day_number(moment: datetime) -> int:
    """Whole UTC days since 1970-01-01 of `moment` (the `day` column)."""
    return (moment - EPOCH) // timedelta(days=1)


def count_stay(tally: Tally, tracker: str, team: str, at: datetime, ended_at: datetime | None,
               status: str | None, category: str | None, sign: int = 1) -> None:
    """Add one stay's rows to `tally` (`sign` -1 takes them off)."""
    name = NO_STATUS if status is None else status
    kind = NO_CATEGORY if category is None else category
    start = day_number(at)
    tally[(tracker, team, start, kind, name, start), MOVES] += sign
    if ended_at is None:
        tally[(tracker, team, start, kind, name, start), OPENED] += sign
    else:
        end = day_number(ended_at)
        tally[(tracker, team, end, kind, name, start if kind in FRESH_KEPT else end), MOVES] -= sign


def counted_as(team: str | None, deleted: bool) -> str | None:
    """The team key an item's stays are counted under; None: not counted (deleted)."""
    return None if deleted else team or NO_TEAM


def restayed(conn: Connection, tracker: str, item_ids: list[str], changed: ColumnElement[bool],
             written: frozenset[str]) -> Tally:
    """The change to the kept rows when the items' status rows matching `changed` get their new ends,
    read before `ended_at` is updated. A write can change only the stays still open or ending at or
    after its earliest row, and the next status row of each such stay is one of them, so their new
    ends are computed here as the UPDATE computes them: the next row in (at, id) order. Rows whose
    fingerprint is in `written` (inserted by this transaction) were not counted before. Items
    without a row in `items`, or deleted, are not counted."""
    query = (select(h.c.id, h.c.item_id, h.c.at, h.c.ended_at, h.c.new, h.c.new_category, h.c.fingerprint, i.c.team)
             .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
             .where(h.c.tracker == tracker, h.c.item_id.in_(item_ids), h.c.field.in_(STATUS_FIELDS), changed,
                    i.c.deleted.is_(False)))
    stays: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(query):
        stays[row.item_id].append(row)
    out: Tally = Counter()
    for rows in stays.values():
        rows.sort(key=lambda r: (r.at, r.id))
        team = rows[0].team or NO_TEAM
        for row, following in itertools.zip_longest(rows, rows[1:]):
            if row.fingerprint not in written:
                count_stay(out, tracker, team, row.at, row.ended_at, row.new, row.new_category, -1)
            count_stay(out, tracker, team, row.at, following.at if following else None, row.new, row.new_category)
    return out


# Every item stored for the first time runs it (from no team to its own): built once
_STAYS = select(h.c.item_id, h.c.at, h.c.ended_at, h.c.new, h.c.new_category).where(
    h.c.tracker == bindparam("tracker"), h.c.item_id.in_(bindparam("ids", expanding=True)),
    h.c.field.in_(STATUS_FIELDS))


def tally(conn: Connection, tracker: str, teams: Mapping[str, str]) -> Tally:
    """The rows the status stays of items `teams` (id → team key) add."""
    out: Tally = Counter()
    if not teams:
        return out
    for item_id, at, ended_at, new, category in conn.execute(_STAYS, {"tracker": tracker, "ids": sorted(teams)}):
        count_stay(out, tracker, teams[item_id], at, ended_at, new, category)
    return out


def move(conn: Connection, tracker: str, changes: Mapping[str, tuple[str | None, str | None]]) -> None:
    """Items whose team or deleted flag changed: item id → (team key counted before, now; None:
    not counted). Their whole history's rows go from the old key to the new one. The caller
    holds the items' turn (integration.store.stays) so no history write of theirs runs meanwhile."""
    moved = {item_id: keys for item_id, keys in changes.items() if keys[0] != keys[1]}
    change: Tally = Counter()
    for side, sign in ((0, -1), (1, 1)):
        teams = {item_id: keys[side] for item_id, keys in moved.items() if keys[side] is not None}
        for key, n in tally(conn, tracker, teams).items():  # type: ignore[arg-type]
            change[key] += sign * n
    add(conn, change)


def add(conn: Connection, change: Tally) -> None:
    """Add `change` to the kept rows, in the caller's transaction."""
    rows: dict[Key, list[int]] = {}
    for (key, column), n in change.items():
        if n:
            rows.setdefault(key, [0, 0])[column] += n
    values = [{"tracker": k[0], "team": k[1], "day": k[2], "category": k[3], "status": k[4], "began": k[5],
               "moves": n[0], "opened": n[1]} for k, n in sorted(rows.items())]
    if values:
        conn.execute(_upsert(conn.dialect.name), values)


@functools.cache
def _upsert(dialect_name: str) -> Any:
    statement = dialect_insert(dialect_name, stay_days)
    return statement.on_conflict_do_update(
        index_elements=["tracker", "team", "day", "category", "status", "began"],
        set_={"moves": stay_days.c.moves + statement.excluded.moves,
              "opened": stay_days.c.opened + statement.excluded.opened},
    )


def expected(conn: Connection) -> Tally:
    """The rows every live item's status stays add, counted from the whole history."""
    query = (select(h.c.tracker, i.c.team, h.c.at, h.c.ended_at, h.c.new, h.c.new_category)
             .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
             .where(h.c.field.in_(STATUS_FIELDS), i.c.deleted.is_(False))
             .execution_options(yield_per=20_000))
    out: Tally = Counter()
    for tracker, team, at, ended_at, new, category in conn.execute(query):
        count_stay(out, tracker, team or NO_TEAM, at, ended_at, new, category)
    return Counter({key: n for key, n in out.items() if n})


def fill(conn: Connection) -> None:
    """Count the kept rows from the whole history (the migration, and data loaded in bulk);
    `ended_at` must be filled first (integration.store.stays.backfill_stays)."""
    conn.execute(stay_days.delete())
    add(conn, expected(conn))


def kept(conn: Connection) -> Tally:
    """The kept rows as a tally (zeros left out): what `expected` must equal."""
    out: Tally = Counter()
    for row in conn.execute(select(stay_days)):
        key = (row.tracker, row.team, row.day, row.category, row.status, row.began)
        for column, n in ((MOVES, row.moves), (OPENED, row.opened)):
            if n:
                out[key, column] = n
    return out
