"""Audit-log statistics for the Rules page: decisions per rule recently, and each rule's last run.

One statement for every rule: the rule names are a VALUES list and, for each, a count
and a max answered from the (rule, at) index alone — fast at any audit-log size, in a
single round trip (a GROUP BY over the window would read every entry in it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from integration.store.db import read_connection
from integration.store.store import Store
from integration.store.tables import audit_log


@dataclass(frozen=True)
class RuleStats:
    hits: int
    last_run: datetime | None


def rule_stats(store: Store, rules: Iterable[str], since: datetime) -> dict[str, RuleStats]:
    names = sorted(set(rules))
    if not names:
        return {}
    with read_connection(store.engine) as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        to_db = audit_log.c.at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) or (lambda v: v)
        sql = (
            f"SELECT k.column1,"
            f" (SELECT count(*) FROM audit_log a WHERE a.rule = k.column1 AND a.at >= {mark}),"
            f" (SELECT max(a.at) FROM audit_log a WHERE a.rule = k.column1)"
            f" FROM (VALUES {', '.join([f'({mark})'] * len(names))}) AS k"
        )
        rows = conn.exec_driver_sql(sql, (to_db(since), *names)).all()
    return {name: RuleStats(int(hits or 0), _aware(last)) for name, hits, last in rows}


def _aware(value: object) -> datetime | None:
    """A raw max(at): text on SQLite (the store's own format), a datetime on PostgreSQL."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
