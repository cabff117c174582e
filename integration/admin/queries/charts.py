"""Daily series for the Charts page, each answered from an index in one statement.

Days are UTC calendar days. Audit-log series are range counts on the (rule, at) and
(outcome, at) indexes; the flagged series groups open episodes by the day they opened and
closed, with `utc_day(column)` compiled to a cheap per-dialect expression (SQLite stores
UTC timestamps as text, so it is a prefix; PostgreSQL converts to UTC first).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate, pairwise
from typing import Any

from sqlalchemy import Connection, String, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from integration.store.audit import Outcome
from integration.store.store import Store
from integration.store.tables import audit_log, rule_states

OUTCOMES = tuple(o.value for o in Outcome)


class utc_day(FunctionElement[str]):
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
    last = end.astimezone(UTC).date()
    return [last - timedelta(days=days - 1 - i) for i in range(days)]


def _start(days: Sequence[date]) -> datetime:
    return datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)


def range_counts(
    conn: Connection, column: str, keys: Sequence[str], span: Sequence[date]
) -> dict[str, list[int]]:
    """Audit entries per key and UTC day, as one statement of index-only range counts.

    `count(*) WHERE <column> = key AND at in [day, next day)` is answered from the
    (column, at) index without touching a row; one GROUP BY over the same window would
    read and sort every entry in it. The SQL is written once per shape, directly for the
    driver, because building hundreds of Core subqueries costs more than running them.
    """
    if not keys:
        return {}
    assert column in ("rule", "outcome")  # a fixed column name, never user input
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    to_db = audit_log.c.at.type.bind_processor(conn.dialect) or (lambda value: value)
    bounds = [to_db(_start([d])) for d in (*span, span[-1] + timedelta(days=1))]
    one = f"(SELECT count(*) FROM audit_log WHERE {column} = {mark} AND at >= {mark} AND at < {mark})"
    params: list[Any] = []
    for key in keys:
        for lo, hi in pairwise(bounds):
            params += [key, lo, hi]
    row = conn.exec_driver_sql("SELECT " + ", ".join([one] * (len(keys) * len(span))), tuple(params)).one()
    n = len(span)
    return {key: [int(v) for v in row[i * n : (i + 1) * n]] for i, key in enumerate(keys)}


def decisions_by_outcome(store: Store, end: datetime, days: int) -> DailySeries:
    span = day_range(end, days)
    with store.engine.connect() as conn:
        series = range_counts(conn, "outcome", OUTCOMES, span)
    return DailySeries(span, {k: v for k, v in series.items() if any(v)})


def rule_hits(store: Store, end: datetime, days: int, top: int = 10) -> DailySeries:
    """Decisions per rule and day for the rules with any in the period (the busiest `top`)."""
    span = day_range(end, days)
    c = audit_log.c
    busiest = select(c.rule, func.count()).where(c.rule.is_not(None), c.at >= _start(span)).group_by(c.rule)
    with store.engine.connect() as conn:
        ranked = sorted(conn.execute(busiest), key=lambda row: (-row[1], row[0]))
        series = range_counts(conn, "rule", [row[0] for row in ranked[:top]], span)
    return DailySeries(span, dict(sorted(series.items())))


def flagged_over_time(store: Store, end: datetime, days: int) -> DailySeries:
    """Items flagged at the end of each day, per rule, from each item's latest episode per rule.

    An episode counts on day d when it opened on or before d and had not closed by the end
    of d. A re-opened episode replaces its predecessor in the store, so older episodes of
    the same item and rule are not drawn.
    """
    span = day_range(end, days)
    rs = rule_states.c
    opened, closed = utc_day(rs.opened_at), utc_day(rs.closed_at)
    query = (
        select(rs.rule, opened, closed, func.count())
        .where(rs.opened_at.is_not(None), or_(rs.closed_at.is_(None), rs.closed_at >= _start(span)))
        .group_by(rs.rule, opened, closed)
    )
    labels = [d.isoformat() for d in span]
    steps: dict[str, list[int]] = defaultdict(lambda: [0] * (len(span) + 1))
    with store.engine.connect() as conn:
        for rule, opened_day, closed_day, count in conn.execute(query):
            first = bisect_left(labels, opened_day)  # the first day it was open at the day's end
            last = len(labels) if closed_day is None else bisect_left(labels, closed_day)
            if first < last:
                steps[rule][first] += int(count)
                steps[rule][last] -= int(count)
    series = {rule: list(accumulate(delta[:-1])) for rule, delta in steps.items()}
    return DailySeries(span, dict(sorted(series.items())))
