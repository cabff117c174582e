"""SQLite writers queue on a file lock beside the database, so the next one starts the moment
the last one commits.

SQLite's own busy handler does not wake a waiting writer when the write lock is freed: it
sleeps 1, 2, 5, 10 … ms between attempts, so with two workers a `BEGIN IMMEDIATE` that met
the lock slept several milliseconds although no transaction holds it for more than about one.
Every write transaction of a Flowkeeper process (web, worker, clock, CLI) first takes an
exclusive `flock` on `<database>.writers` and lets go of it as the transaction ends (commit,
rollback or the connection closing, `GatedConnection`); a writer waiting in `flock` is woken by
the kernel as soon as the holder lets go. The kernel also lets go for a process that dies, so
a killed worker never leaves it held. SQLite's lock still guards the data: a writer outside
Flowkeeper (the sqlite3 shell) takes no gate and is waited for with the busy timeout as before.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("flowkeeper.store")


class Held:
    """One transaction's hold on the gate: its own open file, closed (and so let go) exactly once,
    also when the connection holding it is garbage-collected without a close."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def detach(self) -> int | None:
        fd, self._fd = self._fd, None
        return fd

    def release(self, _close: Any = os.close) -> None:  # bound now: still there at interpreter exit
        fd = self.detach()
        if fd is not None:
            _close(fd)

    def __del__(self) -> None:
        self.release()


UNGATED = Held(None)  # the gate file could not be opened: SQLite's busy timeout alone, as before


class WriteGate:
    """The gate of one database file. `enter` waits at most `timeout` seconds, like SQLite's busy timeout."""

    def __init__(self, database: str | Path, timeout: float) -> None:
        self.path, self.timeout = f"{Path(database).resolve()}.writers", timeout
        self.unusable = False

    def enter(self) -> Held | None:
        """The gate held, or None when `timeout` passed first (another writer kept it that long)."""
        if self.unusable:
            return UNGATED
        try:  # read-only is enough for flock: processes of other users share the file
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            log.warning("sqlite.write_gate_unusable", extra={"path": self.path, "error": str(error)})
            self.unusable = True
            return UNGATED
        held = Held(fd)  # from here on the file is closed whatever interrupts
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.detach()
            return _Waiter(fd).wait(self.timeout)
        except OSError as error:  # a file system without flock (some network mounts): as if no gate
            held.release()
            log.warning("sqlite.write_gate_unusable", extra={"path": self.path, "error": str(error)})
            self.unusable = True
            return UNGATED
        return held


class _Waiter:
    """A blocking `flock` has no timeout, so a contended wait blocks in a helper thread while the
    writer waits for it at most `timeout`. A wait given up on leaves the file to the helper, which
    closes it (letting go at once) when its `flock` returns."""

    def __init__(self, fd: int) -> None:
        self.fd, self.got, self.guard = fd, threading.Event(), threading.Lock()
        self.abandoned = False
        self.error: OSError | None = None

    def wait(self, timeout: float) -> Held | None:
        waited = False
        try:
            threading.Thread(target=self._take, name="sqlite-write-gate", daemon=True).start()
            self.got.wait(timeout)
            waited = True
        finally:  # also when the wait is interrupted (RQ's job timeout raises from a signal handler)
            with self.guard:
                taken = self.got.is_set()
                self.abandoned = not taken
            if taken and (not waited or self.error is not None):
                os.close(self.fd)
        if not taken:
            return None
        if self.error is not None:
            raise self.error
        return Held(self.fd)

    def _take(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as error:
            self.error = error
        with self.guard:
            if self.abandoned:
                os.close(self.fd)
                return
            self.got.set()


class GatedConnection(sqlite3.Connection):
    """sqlite3's connection that lets go of the write gate once its transaction has really ended:
    after COMMIT or ROLLBACK returned (SQLAlchemy's `commit` event fires before the COMMIT), and
    when the connection is closed (a pool invalidating it) or checked in (the pool's rollback)."""

    gate_held: Held | None = None
    held_since = 0.0  # when the gate was taken (perf_counter)
    on_let_go: Callable[[float], None] | None = None  # told how long each transaction held the gate

    def hold(self, held: Held) -> None:
        self.gate_held, self.held_since = held, time.perf_counter()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.let_go()

    def let_go(self) -> None:
        held, self.gate_held = self.gate_held, None
        if held is not None:
            held.release()
            if held is not UNGATED and self.on_let_go is not None:
                self.on_let_go(time.perf_counter() - self.held_since)


def gated_connect_args(timeout: float) -> dict[str, Any]:
    """sqlite3.connect's arguments for a file database whose writers take the gate."""
    return {"timeout": timeout, "check_same_thread": False, "factory": GatedConnection}
