"""Audit entries counted per UTC day, rule and outcome, kept in step with the audit log.

The Charts page draws decisions per day over up to 90 days; counting them from the log
reads every entry in the period (100,000 at a busy site). The log is append-only except
for retention's purge, so the counts are kept where the log is written: `add` in the
same transaction as the insert, `recount_from` after a purge (days wholly purged lose
their counts, the day the cutoff falls in is counted again). Keys are upserted in sorted
order, so two writers never wait on each other's rows in opposite orders.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, delete, func, insert, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from integration.store.inserts import dialect_insert
from integration.store.prepared import Prepared
from integration.store.tables import audit_counts, audit_log

NO_RULE = ""  # the key of entries that belong to no rule (webhook events nothing matched, admin actions)

Key = tuple[str, str, str]  # day, rule, outcome


class utc_day(FunctionElement[str]):
    """The UTC calendar day of a timestamp column as 'YYYY-MM-DD' on every backend."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"  # stored as UTC text


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def day_of(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def keys_of(rows: Iterable[Mapping[str, Any]]) -> Counter[Key]:
    """Audit rows as they are inserted → how many fall on each (day, rule, outcome)."""
    return Counter((day_of(row["at"]), row["rule"] or NO_RULE, row["outcome"]) for row in rows)


def add(conn: Connection, counts: Counter[Key]) -> None:
    """Add `counts` to the kept counts (inside the transaction that inserts the entries)."""
    if not counts:
        return
    _upsert(conn.dialect.name).many(conn, [{"day": d, "rule": r, "outcome": o, "entries": n}
                                           for (d, r, o), n in sorted(counts.items())])


@functools.cache
def _upsert(dialect_name: str) -> Prepared:
    """The add-to-count upsert, built once per database kind and run on the driver's cursor (every
    audit write runs it)."""
    statement = dialect_insert(dialect_name, audit_counts)
    return Prepared(statement.on_conflict_do_update(
        index_elements=["day", "rule", "outcome"],
        set_={"entries": audit_counts.c.entries + statement.excluded.entries},
    ))


def recount_from(conn: Connection, cutoff: datetime) -> None:
    """After entries before `cutoff` were purged: drop the days before it, count its own day again."""
    day = day_of(cutoff)
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    conn.execute(delete(audit_counts).where(audit_counts.c.day <= day))
    recount(conn, audit_log.c.at >= start, audit_log.c.at < start + timedelta(days=1))


def recount(conn: Connection, *where: Any) -> None:
    """Insert the counts of the entries matching `where` (their days must hold no counts yet)."""
    a = audit_log.c
    day, rule = utc_day(a.at), func.coalesce(a.rule, literal(NO_RULE))
    grouped = select(day, rule, a.outcome, func.count()).where(*where).group_by(day, rule, a.outcome)
    conn.execute(insert(audit_counts).from_select(["day", "rule", "outcome", "entries"], grouped))
