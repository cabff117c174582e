"""Migration 0002 matches the sweep tables on both databases; queued writes keep their place in line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from integration.store import sweep_tables
from integration.store.store import Store
from integration.store.tables import metadata

OURS = {t.name for t in (sweep_tables.sweep_runs, sweep_tables.sweep_writes, sweep_tables.held_batches,
                         sweep_tables.item_snoozes, sweep_tables.item_exemptions, sweep_tables.sweep_locks)}
T = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)


def test_migrations_create_exactly_the_sweep_tables(any_db_url: str) -> None:
    engine = create_engine(any_db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()

    def table_of(change: Any) -> str | None:
        """('add_table', Table) · ('add_index', Index) · ('add_column', schema, table, Column) · [modify…]"""
        first = change[0] if isinstance(change, list) else change
        if len(first) > 2 and isinstance(first[2], str):
            return first[2]
        obj = first[1]
        return obj.table.name if hasattr(obj, "table") else getattr(obj, "name", None)
    assert [c for c in diff if table_of(c) in OURS] == []


def test_queued_writes_keep_their_place_until_done(store: Store) -> None:
    writes = store.sweep_writes
    plan = {"item": {}, "actions": [], "transitions": []}
    writes.stage("run-1", "jira", "1", "ENG-1", "r", plan, 2, "add_labels x", T)
    writes.stage("run-1", "jira", "2", "ENG-2", "r", plan, 2, "add_labels x", T + timedelta(seconds=1))
    assert writes.defer_rest("run-1", T) == 2
    writes.stage("run-2", "jira", "3", "ENG-3", "r", plan, 2, "add_labels x", T + timedelta(minutes=30))
    writes.stage("run-2", "jira", "2", "ENG-2", "r", plan, 2, "add_labels x", T + timedelta(minutes=30))
    writes.stage("run-2", "jira", "1", "ENG-1", "r", plan, 2, "add_labels x", T + timedelta(minutes=30))
    assert [w.item_key for w in writes.next_for_run("run-2", 10)] == ["ENG-1", "ENG-2", "ENG-3"]
    first = writes.next_for_run("run-2", 1)[0]
    writes.mark(first.id, "applied", T)
    writes.stage("run-3", "jira", "1", "ENG-1", "r", plan, 2, "add_labels x", T + timedelta(hours=1))
    assert writes.next_for_run("run-3", 1)[0].first_planned_at == T + timedelta(hours=1)  # new work, new place
