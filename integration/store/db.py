"""Engine creation: SQLite tuned for several processes, PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from integration.store.write_gate import GatedConnection, WriteGate, gated_connect_args

READ_ONLY = "flowkeeper_read_only"


BUSY_SECONDS = 30  # jobs and pages wait this long for SQLite's write lock
RECEIVER_BUSY_SECONDS = 2  # the webhook receiver answers 503 sooner: Linear gives up after 5 s


def make_engine(url: str, busy_seconds: float = BUSY_SECONDS) -> Engine:
    """One engine per process. SQLite gets WAL and a busy timeout so gunicorn workers share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        gate = None
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            gate = WriteGate(parsed.database, busy_seconds)
        connect_args = gated_connect_args(busy_seconds) if gate else {"timeout": busy_seconds, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args)
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=int(busy_seconds * 1000)))
        event.listen(engine, "begin", partial(_sqlite_begin, gate=gate))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int = BUSY_SECONDS * 1000) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    # Switching to WAL needs the write lock even when the file is WAL already: ask first, so a
    # connection opened while another process writes can still read (and fail fast to write).
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class WriteLockTally:
    """This process's SQLite write transactions and how long their `BEGIN IMMEDIATE` waited for
    the database's write lock (another process holding it): what serializes workers on SQLite.
    Also how long write transactions held the gate (`write_gate`), BEGIN to COMMIT: the share of a
    job the other workers cannot write in. A job reports what it added (`take`, `take_held`) to the
    figures `/metrics` shows."""

    WAITED = 0.001  # a BEGIN slower than this met the lock held (an uncontended one takes microseconds)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.transactions, self.waits, self.seconds = 0, 0, 0.0
        self.held = 0.0

    def let_go(self, seconds: float) -> None:
        with self._lock:
            self.held += seconds

    def take_held(self) -> float:
        """Seconds the gate was held since the last call."""
        with self._lock:
            held, self.held = self.held, 0.0
        return held

    def add(self, seconds: float) -> None:
        with self._lock:
            self.transactions += 1
            self.seconds += seconds
            if seconds > self.WAITED:
                self.waits += 1

    def take(self) -> tuple[int, int, float]:
        """(write transactions, of them waited for the lock, seconds waited) since the last take."""
        with self._lock:
            taken = (self.transactions, self.waits, self.seconds)
            self.transactions, self.waits, self.seconds = 0, 0, 0.0
        return taken


WRITE_LOCK = WriteLockTally()
GatedConnection.on_let_go = WRITE_LOCK.let_go


def _sqlite_begin(connection: Any, gate: WriteGate | None = None) -> None:
    """Writers take the write lock at BEGIN (IMMEDIATE), so a read-then-write transaction never
    meets SQLITE_BUSY_SNAPSHOT, which the busy timeout cannot wait out; on a database file they
    pass the write gate first (`write_gate`: woken when the last writer ends, not polling).
    Connections opened with `read_connection` begin deferred and never hold the write lock (WAL
    readers block no one); AUTOCOMMIT connections get no BEGIN at all, or their writes would
    sit in a transaction nobody commits."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    dbapi = connection.connection.dbapi_connection
    if options.get(READ_ONLY):
        _begin(dbapi, "BEGIN")
        return
    started = time.perf_counter()
    gated = isinstance(dbapi, GatedConnection) and gate is not None
    if gate is not None and gated and dbapi.gate_held is None:
        held = gate.enter()
        if held is None:  # waited as long as the busy timeout would have: SQLite's own error
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        dbapi.hold(held)
    try:
        _begin(dbapi, "BEGIN IMMEDIATE")
    except BaseException:
        if gated:
            dbapi.let_go()
        raise
    WRITE_LOCK.add(time.perf_counter() - started)


def _begin(dbapi: Any, statement: str) -> None:
    """`statement` on the driver's connection, its error raised as SQLAlchemy raises one: every
    transaction begins here, and SQLAlchemy's statement path (`exec_driver_sql`) costs several
    times what SQLite takes to begin."""
    try:
        dbapi.execute(statement)
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error


def sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite database file (None for PostgreSQL or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().parent


def read_connection(engine: Engine) -> Connection:
    """A connection for long reads (reports, admin pages): on SQLite it never takes the write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


@contextmanager
def writing(engine: Engine, conn: Connection | None = None) -> Iterator[Connection]:
    """The caller's transaction when it passes one (its writes commit together), else a new one."""
    if conn is not None:
        yield conn
        return
    with engine.begin() as own:
        yield own


@contextmanager
def reading(engine: Engine, conn: Connection | None = None) -> Iterator[Connection]:
    """The caller's connection when it passes one (its reads share one snapshot), else a read connection."""
    if conn is not None:
        yield conn
        return
    with read_connection(engine) as own:
        yield own
