"""The audit log: every decision, including "did nothing", with a reason a person can read."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from integration.store import audit_counts
from integration.store.db import writing
from integration.store.flag_keys import flag_key
from integration.store.prepared import Prepared
from integration.store.tables import audit_log


class Outcome(str, enum.Enum):
    DONE = "done"
    WOULD_DO = "would_do"
    SKIPPED = "skipped"
    FAILED = "failed"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    tracker: str
    action: str
    outcome: Outcome
    reason: str
    item_key: str | None = None
    rule: str | None = None
    delivery_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    rule: str | None = None
    item_key: str | None = None
    outcome: str | None = None
    tracker: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_INSERT = Prepared(insert(audit_log))  # every job that decides anything runs it: on the driver's cursor


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entries: Iterable[AuditEntry], conn: Connection | None = None) -> None:
        """Append `entries` (with `conn`, in the caller's transaction, committed with its other writes)."""
        rows = [
            {
                "at": e.at,
                "tracker": e.tracker,
                "item_key": e.item_key,
                "rule": e.rule,
                "action": e.action,
                "outcome": e.outcome.value,
                "reason": e.reason,
                "delivery_id": e.delivery_id,
                "detail": dict(e.detail) or None,
                **flag_key(e.rule, e.detail),
            }
            for e in entries
        ]
        if rows:
            with writing(self.engine, conn) as conn:
                _INSERT.many(conn, rows)
                audit_counts.add(conn, audit_counts.keys_of(rows))

    def _where(self, query: Any, f: AuditFilter) -> Any:
        c = audit_log.c
        for column, value in ((c.rule, f.rule), (c.item_key, f.item_key), (c.outcome, f.outcome), (c.tracker, f.tracker)):
            if value:
                query = query.where(column == value)
        if f.since:
            query = query.where(c.at >= f.since)
        if f.until:
            query = query.where(c.at < f.until)
        return query

    def page(self, f: AuditFilter = AuditFilter(), limit: int = 50, before_id: int | None = None) -> list[AuditEntry]:
        """Newest first, keyset-paginated on id so deep pages stay fast."""
        query = self._where(select(audit_log), f).order_by(audit_log.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        with self.engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query)]

    def iter_all(self, f: AuditFilter = AuditFilter(), batch: int = 1000) -> Iterator[AuditEntry]:
        before: int | None = None
        while True:
            rows = self.page(f, limit=batch, before_id=before)
            yield from rows
            if len(rows) < batch:
                return
            before = rows[-1].id

    def count(self, f: AuditFilter = AuditFilter()) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self._where(select(func.count()).select_from(audit_log), f)).scalar() or 0)

    def purge_before(self, cutoff: datetime) -> int:
        with self.engine.begin() as conn:
            purged = conn.execute(delete(audit_log).where(audit_log.c.at < cutoff)).rowcount or 0
            if purged:
                audit_counts.recount_from(conn, cutoff)
            return purged


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        tracker=row.tracker,
        item_key=row.item_key,
        rule=row.rule,
        action=row.action,
        outcome=Outcome(row.outcome),
        reason=row.reason,
        delivery_id=row.delivery_id,
        detail=row.detail or {},
    )
