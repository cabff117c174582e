"""Statements run on the driver's cursor (`integration.store.prepared`) read and write what SQLAlchemy
would, on SQLite and PostgreSQL: the same rows and values (aware datetimes, JSON, booleans, NULLs),
in the caller's transaction, and the driver's errors raised as SQLAlchemy raises them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from integration.judge.facts import _ACTIVITY, _STATES
from integration.store.closures import _FOR_ITEMS
from integration.store.db import read_connection
from integration.store.mirror import HistoryEntry
from integration.store.prepared import Prepared
from integration.store.snoozes import _PAUSES
from integration.store.store import Store
from integration.store.tables import items, overrides, service_state
from rules.model import ActorKind, EpisodeChange, EpisodeTransition, Status, StatusCategory
from tests.foundation.test_store import T0, item


def _seeded(store: Store) -> None:
    store.mirror.upsert(item(custom={"severity": "S1"}, labels=("a", "b")), T0)
    store.mirror.record_history("jira", item(), [
        HistoryEntry(T0, "status", ActorKind.HUMAN, "To Do", "In Progress", actor_id="acc-1"),
        HistoryEntry(T0 + timedelta(hours=1), "comment", ActorKind.HUMAN, actor_id="acc-1"),
        HistoryEntry(T0 + timedelta(hours=2), "labels", ActorKind.BOT),
    ])
    store.rule_states.apply("jira", "10001", "ACME-1", "live", [EpisodeTransition("stalled", EpisodeChange.OPEN, 1)],
                            [("stalled", 1, "0")], T0)
    store.rule_states.apply("jira", "10001", "ACME-1", "dry", [EpisodeTransition("unowned", EpisodeChange.CLOSE, 1)],
                            [], T0)
    store.snoozes.snooze("jira", "10001", "ACME-1", T0 + timedelta(days=3), "acc-1", None, T0)
    store.snoozes.exempt("jira", "10001", "ACME-1", "stalled", "acc-1", None, T0)
    store.closures.remember("jira", "10001", "reopen", Status("Done", StatusCategory.DONE),
                            Status("Open", StatusCategory.TODO), T0)
    store.overrides.set("stalled", T0, enabled=False)
    store.overrides.set("unowned", T0, dry_run=True)


@pytest.mark.parametrize("name, prepared, params", [
    ("activity", _ACTIVITY.one, {"tracker": "jira", "one_id": "10001"}),
    ("states", _STATES.one, {"tracker": "jira", "one_id": "10001"}),
    ("pauses", _PAUSES.one, {"tracker": "jira", "one_id": "10001", "now": T0}),
    ("closures", _FOR_ITEMS.one, {"tracker": "jira", "one_id": "10001"}),
    ("item", Prepared(select(items).where(items.c.item_id == bindparam("one_id"))), {"one_id": "10001"}),
    ("overrides", Prepared(select(overrides).order_by(overrides.c.rule)), {}),
])
def test_a_prepared_read_returns_what_sqlalchemy_returns(any_store: Store, name: str, prepared: Prepared,
                                                         params: dict[str, Any]) -> None:
    _seeded(any_store)
    with read_connection(any_store.engine) as conn:
        expected = [(tuple(r), dict(r._mapping)) for r in conn.execute(prepared.statement, params)]
        rows = prepared.rows(conn, params)
        first = prepared.first(conn, params)
    assert expected, name
    assert [(tuple(r), r._asdict()) for r in rows] == expected
    assert first is not None and tuple(first) == expected[0][0]
    datetimes = [v for r in rows for v in r if hasattr(v, "tzinfo")]
    assert all(v.tzinfo is not None for v in datetimes)


def test_a_prepared_write_is_part_of_the_callers_transaction(any_store: Store) -> None:
    """A statement run on a connection that has not begun begins its transaction first: rolled back,
    nothing of it stays (on SQLite, a statement outside BEGIN would have been committed at once)."""
    stamp = Prepared(insert(service_state))
    with any_store.engine.connect() as conn:
        assert stamp.rowcount(conn, {"key": "seen", "value": {"n": 1}, "updated_at": T0}) == 1
        assert any_store.service.get("seen") is None  # not committed: another connection does not see it
        conn.rollback()
    assert any_store.service.get("seen") is None
    with any_store.engine.begin() as conn:
        stamp.rowcount(conn, {"key": "seen", "value": {"n": 1}, "updated_at": T0})
    assert any_store.service.get("seen") == {"n": 1}


def test_a_prepared_write_stores_what_sqlalchemy_stores(any_store: Store) -> None:
    _seeded(any_store)
    renamed = {"title": "Renamed", "updated_at": T0 + timedelta(hours=5), "deleted": False, "estimate": None}
    with any_store.engine.begin() as conn:
        before = conn.execute(select(items)).one()
        Prepared(update(items).where(items.c.id == bindparam("row_id"))).rowcount(
            conn, {**renamed, "row_id": before.id})
        by_driver = conn.execute(select(items)).one()
        conn.execute(update(items).where(items.c.id == bindparam("row_id")), {**renamed, "row_id": before.id})
        by_sqlalchemy = conn.execute(select(items)).one()
    assert by_driver == by_sqlalchemy and by_driver.title == "Renamed" and by_driver != before


def test_the_drivers_errors_are_raised_as_sqlalchemy_raises_them(any_store: Store) -> None:
    stamp = Prepared(insert(service_state))
    with pytest.raises(IntegrityError), any_store.engine.begin() as conn:
        stamp.rowcount(conn, {"key": "twice", "value": 1, "updated_at": T0})
        stamp.rowcount(conn, {"key": "twice", "value": 2, "updated_at": T0})
    assert any_store.service.get("twice") is None
    with pytest.raises(InvalidRequestError), read_connection(any_store.engine) as conn:
        Prepared(select(items).where(items.c.item_id == bindparam("one_id"))).rows(conn, {})


def test_statements_that_cannot_run_prepared_are_refused_when_compiled(any_store: Store) -> None:
    expanding = Prepared(select(items).where(items.c.item_id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"), read_connection(any_store.engine) as conn:
        expanding.rows(conn, {"ids": ["1"]})
