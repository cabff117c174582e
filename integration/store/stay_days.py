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

Beside them, `stay_times` keeps what time in status needs (integration.reports.status_time): per
day, the stays begun that day that end later than they begin (`entries`), the time of day of each
start (+) and end (-) counted in `moves` (`offsets`, microseconds), and the stays begun that day
in a status the item had been in before (`returns`), under the day it last left it (`left_day`;
a stay that ends as it begins is neither an entry nor a visit left). Those depend on the order of
the item's stays, so every count here walks an item's stays in (at, id) order.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, func, not_, select

from integration.store.completions import STATUS_FIELDS
from integration.store.inserts import dialect_insert
from integration.store.tables import item_history as h
from integration.store.tables import items as i
from integration.store.tables import stay_days, stay_times

FRESH_KEPT = ("done",)  # a period counts these stays only when they began in it
NO_TEAM = ""  # the key of items without a team
NO_STATUS, NO_CATEGORY = "(no status)", "unknown"  # as the reports name a status row without them
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MOVES, OPENED = 0, 1  # stay_days' columns
ENTRIES, OFFSETS, RETURNS = 2, 3, 4  # stay_times'
DAYS, TIMES = (MOVES, OPENED), (ENTRIES, OFFSETS, RETURNS)
MICROSECONDS_A_DAY = 86_400_000_000

Key = tuple[str, str, int, str, str, int]  # tracker, team, day, category, status, began (stay_times: left_day)
Tally = Counter[tuple[Key, int]]  # (key, column) → change
Stay = tuple[datetime, datetime | None, str | None, str | None]  # at, ended_at, status, category


def day_number(moment: datetime) -> int:
    """Whole UTC days since 1970-01-01 of `moment` (the `day` column)."""
    return (moment - EPOCH) // timedelta(days=1)


def time_of_day(moment: datetime) -> int:
    """Microseconds after the UTC midnight of `moment`'s day."""
    return ((moment - EPOCH) % timedelta(days=1)) // timedelta(microseconds=1)


def count_stay(tally: Tally, tracker: str, team: str, at: datetime, ended_at: datetime | None,
               status: str | None, category: str | None, sign: int = 1, left: datetime | None = None) -> None:
    """Add one stay's rows to `tally` (`sign` -1 takes them off); `left`: when the item last left this
    status and category before, after a stay that lasted a while (None: never)."""
    name = NO_STATUS if status is None else status
    kind = NO_CATEGORY if category is None else category
    start = day_number(at)
    begun = (tracker, team, start, kind, name, start)
    tally[begun, MOVES] += sign
    tally[begun, OFFSETS] += sign * time_of_day(at)
    if ended_at is None or ended_at > at:
        tally[begun, ENTRIES] += sign
        if left is not None:
            tally[(tracker, team, start, kind, name, day_number(left)), RETURNS] += sign
    if ended_at is None:
        tally[begun, OPENED] += sign
    else:
        end = day_number(ended_at)
        tally[(tracker, team, end, kind, name, start if kind in FRESH_KEPT else end), MOVES] -= sign
        tally[(tracker, team, end, kind, name, end), OFFSETS] -= sign * time_of_day(ended_at)


def count_item(tally: Tally, tracker: str, team: str, stays: Iterable[Stay], sign: int = 1,
               left_before: Mapping[tuple[str, str], datetime] | None = None) -> None:
    """Add the rows of one item's stays, given in (at, id) order (`sign` -1 takes them off);
    `left_before`: when the item last left each (status, category) after a lasting stay, in the stays
    before these (none: these are its first)."""
    left: dict[tuple[str, str], datetime] = dict(left_before or {})
    for at, ended_at, status, category in stays:
        named = (NO_STATUS if status is None else status, NO_CATEGORY if category is None else category)
        count_stay(tally, tracker, team, at, ended_at, status, category, sign, left.get(named))
        if ended_at is not None and ended_at > at:
            left[named] = ended_at


def counted_as(team: str | None, deleted: bool) -> str | None:
    """The team key an item's stays are counted under; None: not counted (deleted)."""
    return None if deleted else team or NO_TEAM


def restayed(conn: Connection, tracker: str, item_ids: list[str], changed: ColumnElement[bool],
             written: frozenset[str]) -> Tally:
    """The change to the kept rows when the items' status rows matching `changed` get their new ends,
    read before `ended_at` is updated. A write can change only the stays still open or ending at or
    after its earliest row, and the next status row of each such stay is one of them, so their new
    ends are computed here as the UPDATE computes them: the next row in (at, id) order. Those stays
    are taken off with the ends kept so far and added with the new ones. The stays before them keep
    their ends and so their counts, but a return to a status depends on when the item last left it:
    that is read for them in one grouped query (`_left_before`), so a write costs the stays it can
    change, not the item's whole history. Rows whose fingerprint is in `written` (inserted by this
    transaction) were not counted before. Items without a row in `items`, or deleted, are not counted."""
    query = (select(h.c.id, h.c.item_id, h.c.at, h.c.ended_at, h.c.new, h.c.new_category, h.c.fingerprint, i.c.team)
             .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
             .where(h.c.tracker == tracker, h.c.item_id.in_(item_ids), h.c.field.in_(STATUS_FIELDS), changed,
                    i.c.deleted.is_(False)))
    stays: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(query):
        stays[row.item_id].append(row)
    out: Tally = Counter()
    if not stays:
        return out
    before = _left_before(conn, tracker, sorted(stays), changed)
    for item_id, rows in stays.items():
        rows.sort(key=lambda r: (r.at, r.id))
        team = rows[0].team or NO_TEAM
        left = before.get(item_id)
        count_item(out, tracker, team, [(r.at, r.ended_at, r.new, r.new_category) for r in rows
                                        if r.fingerprint not in written], -1, left)
        count_item(out, tracker, team, [(row.at, following.at if following else None, row.new, row.new_category)
                                        for row, following in itertools.zip_longest(rows, rows[1:])], 1, left)
    return out


def _left_before(conn: Connection, tracker: str, item_ids: list[str],
                 changed: ColumnElement[bool]) -> dict[str, dict[tuple[str, str], datetime]]:
    """Per item, when it last left each (status, category) after a lasting stay, among the stays a
    write leaves as they are. Those come before every stay it changes (an item's stays follow one
    another), so the latest such end is the one the stays after them see."""
    query = (select(h.c.item_id, h.c.new, h.c.new_category, func.max(h.c.ended_at))
             .where(h.c.tracker == tracker, h.c.item_id.in_(item_ids), h.c.field.in_(STATUS_FIELDS),
                    h.c.ended_at.is_not(None), h.c.ended_at > h.c.at, not_(changed))
             .group_by(h.c.item_id, h.c.new, h.c.new_category))
    out: dict[str, dict[tuple[str, str], datetime]] = defaultdict(dict)
    for item_id, status, category, ended_at in conn.execute(query):
        named = (NO_STATUS if status is None else status, NO_CATEGORY if category is None else category)
        out[item_id][named] = ended_at
    return out


# Every item stored for the first time runs it (from no team to its own): built once
_STAYS = select(h.c.item_id, h.c.at, h.c.ended_at, h.c.new, h.c.new_category).where(
    h.c.tracker == bindparam("tracker"), h.c.item_id.in_(bindparam("ids", expanding=True)),
    h.c.field.in_(STATUS_FIELDS)).order_by(h.c.item_id, h.c.at, h.c.id)


def tally(conn: Connection, tracker: str, teams: Mapping[str, str]) -> Tally:
    """The rows the status stays of items `teams` (id → team key) add."""
    out: Tally = Counter()
    if not teams:
        return out
    rows = conn.execute(_STAYS, {"tracker": tracker, "ids": sorted(teams)})
    for item_id, stays in itertools.groupby(rows, key=lambda row: row[0]):
        count_item(out, tracker, teams[item_id], (tuple(row[1:]) for row in stays))  # type: ignore[misc]
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
    """Add `change` to the kept rows (stay_days' columns and stay_times'), in the caller's transaction."""
    for table, columns in ((stay_days, DAYS), (stay_times, TIMES)):
        rows: dict[Key, list[int]] = {}
        for (key, column), n in change.items():
            if n and column in columns:
                rows.setdefault(key, [0] * len(columns))[columns.index(column)] += n
        values = [{**dict(zip(_keys(table), key, strict=True)),
                   **{_names(table)[k]: n for k, n in enumerate(counts)}} for key, counts in sorted(rows.items())]
        if values:
            conn.execute(_upsert(conn.dialect.name, table.name), values)


def _keys(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _names(table: Table) -> list[str]:
    return [c.name for c in table.columns if not c.primary_key]


@functools.cache
def _upsert(dialect_name: str, table_name: str) -> Any:
    table = stay_days if table_name == stay_days.name else stay_times
    statement = dialect_insert(dialect_name, table)
    return statement.on_conflict_do_update(
        index_elements=_keys(table),
        set_={name: table.c[name] + statement.excluded[name] for name in _names(table)},
    )


def counted(conn: Connection, columns: tuple[int, ...] = DAYS) -> Tally:
    """The rows every live item's status stays add, counted from the whole history (`columns`: those
    of stay_days or of stay_times)."""
    query = (select(h.c.tracker, h.c.item_id, i.c.team, h.c.at, h.c.ended_at, h.c.new, h.c.new_category)
             .select_from(h.join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)))
             .where(h.c.field.in_(STATUS_FIELDS), i.c.deleted.is_(False))
             .order_by(h.c.tracker, h.c.item_id, h.c.at, h.c.id)
             .execution_options(yield_per=20_000))
    out: Tally = Counter()
    for (tracker, _), rows in itertools.groupby(conn.execute(query), key=lambda row: (row[0], row[1])):
        first = next(rows)
        count_item(out, tracker, first.team or NO_TEAM,
                   (tuple(row[3:]) for row in itertools.chain([first], rows)))  # type: ignore[misc]
    return Counter({key: n for key, n in out.items() if n and key[1] in columns})


def expected(conn: Connection) -> Tally:
    """The stay_days rows every live item's status stays add, counted from the whole history."""
    return counted(conn, DAYS)


def fill(conn: Connection) -> None:
    """Count the kept rows from the whole history (a release's first start, the rebuild, data loaded in bulk);
    `ended_at` must be filled first (integration.store.stays.backfill_stays)."""
    conn.execute(stay_days.delete())
    add(conn, expected(conn))


def fill_times(conn: Connection) -> None:
    """The same for stay_times."""
    conn.execute(stay_times.delete())
    add(conn, counted(conn, TIMES))


def kept(conn: Connection, columns: tuple[int, ...] = DAYS) -> Tally:
    """The kept rows as a tally (zeros left out): what `counted` must equal (`columns`: stay_days' or stay_times')."""
    table = stay_days if columns == DAYS else stay_times
    out: Tally = Counter()
    for row in conn.execute(select(table)):
        key = tuple(row[:6])
        for column, n in zip(columns, row[6:], strict=True):
            if n:
                out[key, column] = n  # type: ignore[index]
    return out
