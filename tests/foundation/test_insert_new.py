"""A delivery's start and a history entry are one insert that skips a row already there, on every
database Flowkeeper runs on: also SQLite before 3.35, which cannot return rows from an insert."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from rules.model import ActorKind
from tests.conftest import _truncate, sqlite_url
from tests.foundation.test_store import item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _refuse_returning(_conn: object, _cursor: object, statement: str, *_: object) -> None:
    if "RETURNING" in statement.upper():
        raise sqlite3.OperationalError('near "RETURNING": syntax error')


@pytest.fixture(params=["sqlite", "postgresql", "sqlite before 3.35"])
def store_of_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _truncate(url)
    else:
        url = sqlite_url(tmp_path)
    store = Store.connect(url)
    if request.param == "sqlite before 3.35":
        store.engine.dialect.insert_returning = False  # what SQLAlchemy sets for SQLite older than 3.35
        event.listen(store.engine, "before_cursor_execute", _refuse_returning)  # and what that SQLite says
    yield store
    store.engine.dispose()


def test_a_delivery_starts_once_counts_retries_and_stays_finished(store_of_kind: Store) -> None:
    deliveries = store_of_kind.deliveries
    assert deliveries.begin("jira", "d-1", T0, "ACME-1") is True, "a first attempt starts"
    assert deliveries.state_of("jira", "d-1") == "processing"
    assert deliveries.begin("jira", "d-1", T0 + timedelta(seconds=5)) is True, "a retry of an unfinished one runs"
    deliveries.finish("jira", "d-1", "done", "no action", T0 + timedelta(seconds=6))
    assert deliveries.begin("jira", "d-1", T0 + timedelta(seconds=7)) is False, "a finished one does not run again"
    assert deliveries.state_of("jira", "d-1") == "done"


def test_a_redelivered_history_entry_is_stored_once(store_of_kind: Store) -> None:
    entries = [HistoryEntry(at=T0, field="status", actor_kind=ActorKind.HUMAN, new="In Progress"),
               HistoryEntry(at=T0 + timedelta(hours=1), field="comment", actor_kind=ActorKind.HUMAN, new="c1")]
    assert store_of_kind.mirror.record_history("jira", item(), entries) == 2
    assert store_of_kind.mirror.record_history("jira", item(), entries) == 0
    assert store_of_kind.mirror.last_activity("jira", "10001") == T0 + timedelta(hours=1)
