"""Engine creation: SQLite tuned for several processes, PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

READ_ONLY = "flowkeeper_read_only"


def make_engine(url: str) -> Engine:
    """One engine per process. SQLite gets WAL and a busy timeout so gunicorn workers share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Writers take the write lock at BEGIN (IMMEDIATE), so a read-then-write transaction never
    meets SQLITE_BUSY_SNAPSHOT, which the busy timeout cannot wait out. Connections opened with
    `read_connection` begin deferred and never hold the write lock (WAL readers block no one);
    AUTOCOMMIT connections get no BEGIN at all, or their writes would sit in a transaction
    nobody commits."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")


def read_connection(engine: Engine) -> Connection:
    """A connection for long reads (reports, admin pages): on SQLite it never takes the write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})
