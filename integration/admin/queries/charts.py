"""Series for the Charts page — daily up to a month, weekly beyond — each from a few hundred index entries.

Days are UTC calendar days. Decisions per day come from the counts the audit log keeps
per (day, rule, outcome) (integration.store.audit_counts), not from the entries; flagged
items per day are index-only range counts over the open-episode columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate, pairwise

from sqlalchemy import Connection, func, select

from integration.store.audit import Outcome
from integration.store.db import read_connection
from integration.store.store import Store
from integration.store.tables import audit_counts, rule_states

OUTCOMES = tuple(o.value for o in Outcome)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # the open lower end of the first range count
# every rule with an episode, one index probe per rule (a DISTINCT would read every episode)
RULES = ("WITH RECURSIVE s(rule) AS (SELECT min(rule) FROM rule_states UNION ALL"
         " SELECT (SELECT min(r.rule) FROM rule_states r WHERE r.rule > s.rule) FROM s WHERE s.rule IS NOT NULL)"
         " SELECT rule FROM s WHERE rule IS NOT NULL")


WEEKLY_FROM = 32  # periods longer than a month are drawn (and counted) per week


@dataclass(frozen=True)
class DailySeries:
    days: list[date]  # the first day of each bucket
    series: dict[str, list[int]]  # name → one count per bucket
    step: int = 1  # days per bucket

    @property
    def ends(self) -> list[date]:
        return [d + timedelta(days=self.step - 1) for d in self.days]

    def labels(self) -> list[str]:
        if self.step == 1:
            return [f"{d:%b %d}" for d in self.days]
        return [
            f"{d:%b %d}–{e:%d}" if d.month == e.month else f"{d:%b %d}–{e:%b %d}"
            for d, e in zip(self.days, self.ends, strict=True)
        ]

    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())


def day_range(end: datetime, days: int) -> list[date]:
    """The first day of each bucket covering the `days` up to `end`: days, or weeks ending today."""
    last, step = end.astimezone(UTC).date(), bucket_days(days)
    count = -(-days // step)
    return [last - timedelta(days=step * (count - 1 - i) + step - 1) for i in range(count)]


def bucket_days(days: int) -> int:
    return 1 if days < WEEKLY_FROM else 7


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def kept_counts(
    conn: Connection, column: str, keys: Sequence[str], span: Sequence[date], step: int = 1
) -> dict[str, list[int]]:
    """Audit entries per key (a rule or an outcome) and bucket, summed from the kept daily counts."""
    c = audit_counts.c
    key = c.rule if column == "rule" else c.outcome
    last = span[-1] + timedelta(days=step - 1)
    query = (select(c.day, key, func.sum(c.entries))
             .where(c.day >= span[0].isoformat(), c.day <= last.isoformat(), key.in_(keys))
             .group_by(c.day, key))
    series = {k: [0] * len(span) for k in keys}
    for day, name, entries in conn.execute(query):
        series[name][(date.fromisoformat(day) - span[0]).days // step] += int(entries)
    return series


def decisions_by_outcome(store: Store, end: datetime, days: int) -> DailySeries:
    span, step = day_range(end, days), bucket_days(days)
    with read_connection(store.engine) as conn:
        series = kept_counts(conn, "outcome", OUTCOMES, span, step)
    return DailySeries(span, {k: v for k, v in series.items() if any(v)}, step)


def rule_hits(store: Store, end: datetime, days: int, rules: Sequence[str], top: int = 10) -> DailySeries:
    """Decisions per day (or week) of the running rules with any in the period (the busiest `top`)."""
    span, step = day_range(end, days), bucket_days(days)
    with read_connection(store.engine) as conn:
        found = kept_counts(conn, "rule", sorted(set(rules)), span, step) if rules else {}
    busiest = sorted((r for r in found if any(found[r])), key=lambda r: (-sum(found[r]), r))[:top]
    return DailySeries(span, {r: found[r] for r in sorted(busiest)}, step)


def opened_and_closed(conn: Connection, bounds: Sequence[datetime]) -> dict[str, list[tuple[int, int]]]:
    """Per rule and range [bounds[i], bounds[i+1]): episodes opened in it, and episodes closed in it.

    One statement: the rules (found by skipping through the rule index) and the ranges are
    cross-joined, and each pair's two counts
    are range scans of the (rule, opened_at) and (rule, closed_at) indexes that read no row.
    Together the ranges cover every episode once, however long the history.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    to_db = rule_states.c.opened_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) or (lambda v: v)
    sql = (
        "SELECT k.rule, b.column1,"
        " (SELECT count(*) FROM rule_states r WHERE r.rule = k.rule"
        "  AND r.opened_at >= b.column1 AND r.opened_at < b.column2),"
        " (SELECT count(*) FROM rule_states r WHERE r.rule = k.rule"
        "  AND r.closed_at >= b.column1 AND r.closed_at < b.column2 AND r.opened_at IS NOT NULL)"
        f" FROM ({RULES}) AS k"
        f" CROSS JOIN (VALUES {', '.join([f'({mark}, {mark})'] * (len(bounds) - 1))}) AS b"
    )
    index = {to_db(lo): i for i, lo in enumerate(bounds[:-1])}
    found: dict[str, list[tuple[int, int]]] = {}
    for rule, lo, opened, closed in conn.exec_driver_sql(sql, tuple(to_db(x) for p in pairwise(bounds) for x in p)):
        found.setdefault(rule, [(0, 0)] * (len(bounds) - 1))[index[to_db(lo) if isinstance(lo, datetime) else lo]] = (
            int(opened), int(closed))  # SQLite hands back the text we sent
    return found


def flagged_over_time(store: Store, end: datetime, days: int) -> DailySeries:
    """Items flagged at the end of each day (or week), per rule, from each item's latest episode per rule.

    An episode counts on day d when it opened on or before d and had not closed by the end
    of d; a weekly bucket shows its last day. So the count at the end of a bucket is every
    episode opened before that moment less every one closed before it. A re-opened
    episode replaces its predecessor in the store, so older episodes of the same item and
    rule are not drawn.
    """
    span, step = day_range(end, days), bucket_days(days)
    ends = [_start(e + timedelta(days=1)) for e in DailySeries(span, {}, step).ends]
    with read_connection(store.engine) as conn:
        found = opened_and_closed(conn, [EARLIEST, *ends])
    series = {
        rule: [max(0, o - c) for o, c in zip(accumulate(n for n, _ in ranges), accumulate(n for _, n in ranges),
                                             strict=True)]
        for rule, ranges in sorted(found.items())
    }
    return DailySeries(span, {r: v for r, v in series.items() if any(v)}, step)
