"""The Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import integration.store.sweep_tables  # noqa: F401 - registers the sweeps' tables on the shared metadata
from integration.store.tables import metadata


def test_migrated_schema_matches_the_declared_tables(any_db_url: str) -> None:
    engine = create_engine(any_db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    meaningful = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert meaningful == [], meaningful
