"""Daily series for the Charts page, each from one GROUP BY the indexes can answer.

Days are UTC calendar days. `utc_day(column)` compiles to a cheap per-dialect expression
(SQLite stores UTC timestamps as text, so it is a prefix; PostgreSQL converts to UTC
first), so grouping never needs a row-by-row date parse in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import String, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from integration.store.store import Store
from integration.store.tables import audit_log, rule_states


class utc_day(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it renders
    """The UTC calendar day of a timestamp column, as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class DailySeries:
    days: list[date]
    series: dict[str, list[int]]  # name → one count per day

    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())


def day_range(end: datetime, days: int) -> list[date]:
    last = end.astimezone(timezone.utc).date()
    return [last - timedelta(days=days - 1 - i) for i in range(days)]


def _start(days: Sequence[date]) -> datetime:
    return datetime.combine(days[0], datetime.min.time(), tzinfo=timezone.utc)


def _spread(counts: dict[tuple[str, str], int], days: list[date]) -> dict[str, list[int]]:
    index = {d.isoformat(): i for i, d in enumerate(days)}
    out: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for (name, day), count in counts.items():
        if day in index:
            out[name][index[day]] += count
    return dict(sorted(out.items()))


def decisions_by_outcome(store: Store, end: datetime, days: int) -> DailySeries:
    span = day_range(end, days)
    c = audit_log.c
    day = utc_day(c.at)
    query = select(c.outcome, day, func.count()).where(c.at >= _start(span)).group_by(c.outcome, day)
    with store.engine.connect() as conn:
        counts = {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}
    return DailySeries(span, _spread(counts, span))


def rule_hits(store: Store, end: datetime, days: int) -> DailySeries:
    span = day_range(end, days)
    c = audit_log.c
    day = utc_day(c.at)
    query = (select(c.rule, day, func.count()).where(c.rule.is_not(None), c.at >= _start(span))
             .group_by(c.rule, day))
    with store.engine.connect() as conn:
        counts = {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}
    return DailySeries(span, _spread(counts, span))


def flagged_over_time(store: Store, end: datetime, days: int) -> DailySeries:
    """Items flagged at the end of each day, per rule, from each item's latest episode per rule.

    An episode counts on day d when it opened on or before d and had not closed by the end
    of d. A re-opened episode replaces its predecessor in the store, so older episodes of
    the same item and rule are not drawn.
    """
    span = day_range(end, days)
    rs = rule_states.c
    opened, closed = utc_day(rs.opened_at), utc_day(rs.closed_at)
    query = (select(rs.rule, opened, closed, func.count())
             .where(rs.opened_at.is_not(None), or_(rs.closed_at.is_(None), rs.closed_at >= _start(span)))
             .group_by(rs.rule, opened, closed))
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(span))
    labels = [d.isoformat() for d in span]
    with store.engine.connect() as conn:
        for rule, opened_day, closed_day, count in conn.execute(query):
            for i, label in enumerate(labels):
                if opened_day <= label and (closed_day is None or closed_day > label):
                    series[rule][i] += int(count)
    return DailySeries(span, dict(sorted(series.items())))
