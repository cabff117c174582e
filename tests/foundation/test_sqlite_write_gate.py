"""SQLite writers queue on a file lock beside the database: the next writer starts as soon as the
last one's transaction ends, and however a transaction ends (commit, error, a connection handed
back or thrown away, its process killed) the lock is let go, or every other worker would hang."""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from integration.store.db import make_engine, read_connection
from integration.store.tables import service_state

NOW = datetime(2026, 3, 2, tzinfo=UTC)
HOLD = 0.13  # SQLite's busy handler would next look 48 ms after a holder this long lets go


def gate_path(url: str) -> str:
    return f"{Path(str(make_url(url).database)).resolve()}.writers"


def gate_free(url: str) -> bool:
    """Whether a writer could pass the gate right now."""
    fd = os.open(gate_path(url), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def write(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(service_state.insert().values(key=key, value=1, updated_at=NOW))


def test_a_waiting_writer_starts_as_the_holder_commits(db_url: str) -> None:
    holder, waiter = make_engine(db_url), make_engine(db_url)
    committed, began = [0.0], [0.0]

    def second() -> None:
        with waiter.begin() as conn:
            began[0] = time.perf_counter()
            conn.execute(service_state.insert().values(key="second", value=2, updated_at=NOW))

    with holder.begin() as conn:
        conn.execute(service_state.insert().values(key="first", value=1, updated_at=NOW))
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(HOLD)
    committed[0] = time.perf_counter()
    thread.join(10)
    assert began[0] - committed[0] < 0.02
    with read_connection(waiter) as conn:
        assert sorted(conn.execute(select(service_state.c.key))) == [("first",), ("second",)]


def test_an_error_inside_a_transaction_lets_go(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(service_state.insert().values(key="half", value=1, updated_at=NOW))
        assert not gate_free(db_url)
        raise RuntimeError("a job failed mid-way")
    assert gate_free(db_url)
    write(make_engine(db_url, busy_seconds=0.2), "half")  # the failed transaction's write was rolled back


def test_a_failed_savepoint_keeps_the_gate_until_the_transaction_ends(db_url: str) -> None:
    engine = make_engine(db_url)
    write(engine, "taken")
    with engine.begin() as conn:
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(service_state.insert().values(key="taken", value=2, updated_at=NOW))
        assert not gate_free(db_url)
        conn.execute(service_state.insert().values(key="other", value=3, updated_at=NOW))
    assert gate_free(db_url)


@pytest.mark.parametrize("ending", ["handed back", "invalidated", "garbage"])
def test_a_connection_left_mid_transaction_lets_go(db_url: str, ending: str) -> None:
    engine = make_engine(db_url)
    conn = engine.connect()
    conn.execute(service_state.insert().values(key="half", value=1, updated_at=NOW))
    assert not gate_free(db_url)
    if ending == "handed back":
        conn.close()  # the pool rolls it back
    elif ending == "invalidated":
        conn.invalidate()
    else:
        del conn  # dropped without a close: freed with it, as SQLite's own lock is
        gc.collect()
    assert gate_free(db_url)
    write(make_engine(db_url, busy_seconds=0.2), "half")  # the half-done write was rolled back


def test_readers_and_memory_databases_take_no_gate(db_url: str) -> None:
    engine = make_engine(db_url)
    with read_connection(engine) as conn:
        conn.execute(select(service_state)).all()
        assert gate_free(db_url)
    memory = make_engine("sqlite://")
    with memory.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    assert not Path(":memory:.writers").exists() and not Path(".writers").exists()


def test_a_writer_waits_no_longer_than_the_busy_timeout(db_url: str) -> None:
    holder, impatient = make_engine(db_url), make_engine(db_url, busy_seconds=0.2)
    with holder.begin() as conn:
        conn.execute(service_state.insert().values(key="held", value=1, updated_at=NOW))
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="database is locked"):
            write(impatient, "late")
        assert time.perf_counter() - started < 2
    for helper in [t for t in threading.enumerate() if t.name == "sqlite-write-gate"]:
        helper.join(5)
    assert gate_free(db_url)  # the given-up wait does not keep the gate once the holder lets go
    write(impatient, "late")


HOLDING = """
import sys, time
from datetime import UTC, datetime
from integration.store.db import make_engine
from integration.store.tables import service_state
with make_engine(sys.argv[1]).begin() as conn:
    conn.execute(service_state.insert().values(key="killed", value=1, updated_at=datetime.now(UTC)))
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_process_killed_while_writing_leaves_the_gate_free(db_url: str) -> None:
    """Another process (the web, a worker) holding the gate dies: the next writer goes on at once."""
    with subprocess.Popen([sys.executable, "-c", HOLDING, db_url], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "holding"
            assert not gate_free(db_url)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            started = time.perf_counter()
            write(make_engine(db_url, busy_seconds=5), "after")
            assert time.perf_counter() - started < 1
        finally:
            child.kill()
    with read_connection(make_engine(db_url)) as conn:
        assert [k for (k,) in conn.execute(select(service_state.c.key))] == ["after"]


def test_a_job_timed_out_while_waiting_leaves_the_gate_free(db_url: str) -> None:
    """RQ ends an overlong job with an exception raised from SIGALRM's handler, wherever the job is."""

    def timed_out(_signum: int, _frame: object) -> None:
        raise TimeoutError("job exceeded its timeout")

    def alarm_once_waiting(main: int) -> None:
        deadline = time.monotonic() + 5
        while not any(t.name == "sqlite-write-gate" for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.005)
        signal.pthread_kill(main, signal.SIGALRM)

    holder, waiter = make_engine(db_url), make_engine(db_url)
    previous = signal.signal(signal.SIGALRM, timed_out)
    try:
        with holder.begin() as conn:
            conn.execute(service_state.insert().values(key="held", value=1, updated_at=NOW))
            threading.Thread(target=alarm_once_waiting, args=(threading.get_ident(),)).start()
            with pytest.raises(TimeoutError):
                write(waiter, "timed out")
    finally:
        signal.signal(signal.SIGALRM, previous)
    for helper in [t for t in threading.enumerate() if t.name == "sqlite-write-gate"]:
        helper.join(5)  # it took the gate the holder let go of, and must have let go of it again
    assert gate_free(db_url)
    write(make_engine(db_url, busy_seconds=0.2), "after")


def test_writes_go_on_when_the_gate_file_cannot_be_opened(db_url: str) -> None:
    os.unlink(gate_path(db_url))  # made by the migrations
    os.mkdir(gate_path(db_url))  # not a file: opening it fails
    engine = make_engine(db_url)
    write(engine, "first")
    write(engine, "second")
    with read_connection(engine) as conn:
        assert len(conn.execute(select(service_state)).all()) == 2


def test_writes_go_on_where_the_file_system_cannot_lock(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Some network file systems refuse flock (ENOLCK): writers go on with SQLite's own lock, as without a gate."""

    def no_locks(_fd: int, _operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    engine = make_engine(db_url)
    write(engine, "first")
    write(engine, "second")
    with read_connection(engine) as conn:
        assert len(conn.execute(select(service_state)).all()) == 2
    assert [r.getMessage() for r in caplog.records].count("sqlite.write_gate_unusable") == 1, "said once"
