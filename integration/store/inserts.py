"""Inserts that skip a row already there, in one statement on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite


@functools.cache
def insert_new(dialect_name: str, table: Table, *unique: str) -> Insert:
    """`table`'s insert that does nothing when a row with the same `unique` columns exists, returning
    the new row's id: no row back means it was there. One statement instead of a read (or a
    savepoint) before the insert; built once per database kind, as every webhook job runs it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(table.c.id)
