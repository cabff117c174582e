"""Audit-log statistics for the Rules page: decisions per rule recently, and each rule's last run.

One small query per rule, each answered from the (rule, at) index alone, stays fast at
any audit-log size; one GROUP BY over the window would read every row in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from integration.store.store import Store
from integration.store.tables import audit_log


@dataclass(frozen=True)
class RuleStats:
    hits: int
    last_run: datetime | None


def rule_stats(store: Store, rules: Iterable[str], since: datetime) -> dict[str, RuleStats]:
    c = audit_log.c
    found: dict[str, RuleStats] = {}
    with store.engine.connect() as conn:
        for rule in rules:
            hits = conn.execute(
                select(func.count()).select_from(audit_log).where(c.rule == rule, c.at >= since)
            ).scalar()
            last = conn.execute(select(func.max(c.at)).where(c.rule == rule)).scalar()
            found[rule] = RuleStats(int(hits or 0), _aware(last))
    return found


def _aware(value: object) -> datetime | None:
    """Aggregates come back untyped on SQLite (a string) and naive on some drivers."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
