"""SQLite under several processes: long reads never hold the write lock; autocommit writes stick."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from integration.store.db import make_engine, read_connection
from integration.store.states import ServiceState
from integration.store.tables import service_state

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_long_read_does_not_block_a_writer(db_url: str) -> None:
    reader_engine, writer_engine = make_engine(db_url), make_engine(db_url)
    with read_connection(reader_engine) as reader:
        reader.execute(select(service_state)).all()  # a report in the middle of its work
        with writer_engine.begin() as conn:  # must not wait for the reader
            conn.execute(service_state.insert().values(key="k", value={"v": 1}, updated_at=NOW))
    assert ServiceState(make_engine(db_url)).get("k") == {"v": 1}


def test_autocommit_connection_keeps_its_writes(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(service_state.insert().values(key="auto", value=1, updated_at=NOW))
    engine.dispose()
    assert ServiceState(make_engine(db_url)).get("auto") == 1
