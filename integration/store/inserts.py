"""Inserts that skip or update a row already there, in one statement on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from integration.store.prepared import Prepared


def dialect_insert(dialect_name: str, table: Table) -> Any:
    """The database kind's own INSERT, which can say what to do ON CONFLICT (both kinds spell it alike)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


@functools.cache
def _insert_new(dialect_name: str, returning: bool, table: Table, *unique: str) -> Prepared:
    statement = dialect_insert(dialect_name, table).on_conflict_do_nothing(index_elements=list(unique))
    return Prepared(statement.returning(table.c.id) if returning else statement)


def insert_new(conn: Connection, table: Table, row: Mapping[str, Any], *unique: str) -> bool:
    """Insert `row` into `table` unless a row with the same `unique` columns exists; whether it went in.

    One statement instead of a read (or a savepoint) before the insert, built once per database
    kind and run on the driver's cursor (`integration.store.prepared`), as every webhook job runs it.
    The new row's id comes back where the database can return rows from an insert; SQLite before
    3.35 cannot, and there the inserted row count answers."""
    returning = conn.dialect.insert_returning
    statement = _insert_new(conn.dialect.name, returning, table, *unique)
    return statement.first(conn, row) is not None if returning else statement.rowcount(conn, row) == 1
