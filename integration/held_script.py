"""A Lua script run on a Redis connection the process keeps for it.

The receiver runs its enqueue script once a delivery. Through redis-py's client each run
borrows a pooled connection (polling its socket first), records the command's timing for
redis-py's own telemetry and hands the connection back: some 110 k instructions a request
around a round trip that costs less itself. Sending on a connection kept for the script
skips that and keeps what the client gave: a connection Redis closed meanwhile (a restart,
an idle timeout) opened again before the delivery fails, the connection's periodic health
check, a connection of its own in a forked child, and the script loaded again when Redis
has forgotten it (a restart, `SCRIPT FLUSH`), and its retries: a connection that fails or
times out (a restart, a failover) is opened again and the script sent again, with backoff,
for a bounded time well inside the trackers' webhook timeouts (Linear 5 s, Jira 10 s), each
try waiting at most `TRY_TIMEOUT`. Sending again is harmless: the script queues a delivery
once, and a try whose reply was lost makes the next read as a duplicate.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.exceptions import NoScriptError

from integration.backoff import backoff

TRY_TIMEOUT = 1.0  # seconds one try waits to connect or for the reply (the script itself takes microseconds)
RETRY_WITHIN = 2.5  # seconds after the first failure in which a try may still start and end
BACKOFF_BASE, BACKOFF_CAP = 0.05, 0.8  # seconds: ~50 ms doubling, with jitter


class Unreachable(redis.ConnectionError):
    """Redis did not answer any try within the bound: the delivery is refused, to be sent again."""


class HeldScript:
    """`script(keys, args)`, like redis-py's `Script`, on this process's own connection."""

    def __init__(self, client: redis.Redis, source: str, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self._sleep, self._clock = client, sleep, clock
        self.script = client.register_script(source)  # its SHA1, and loading it when Redis lacks it
        self._lock = threading.Lock()  # one command at a time on the connection (threaded servers)
        self._held: tuple[int, Any] | None = None  # (process id, connection)

    def __call__(self, keys: Sequence[str], args: Sequence[str | bytes | int]) -> Any:
        command = pack(("EVALSHA", self.script.sha, len(keys), *keys, *args))
        deadline = None  # from the first failure, unless this call had to wait for the connection
        if not self._lock.acquire(False):  # another thread's command (or its retries) first
            deadline = self._clock() + TRY_TIMEOUT + RETRY_WITHIN
            if not self._lock.acquire(timeout=TRY_TIMEOUT + RETRY_WITHIN):
                raise Unreachable("the connection stayed busy with other deliveries' tries")
        try:
            connection = self._connection()
            try:
                return self._send(connection, command, deadline)
            except NoScriptError:
                self.client.script_load(self.script.script)
                return self._send(connection, command, deadline)
        finally:
            self._lock.release()

    def _send(self, connection: Any, command: bytes, deadline: float | None) -> Any:
        """The reply; on a failed or timed-out try, the bounded retries (paid only when one fails)."""
        try:
            connection.send_packed_command([command])
            return connection.read_response()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            return self._retry(connection, command, error, deadline)

    def _retry(self, connection: Any, command: bytes, error: redis.RedisError, deadline: float | None) -> Any:
        """Open the connection again and send again, with backoff, while a whole try still ends
        before the deadline; then `Unreachable`, naming the last failure and how often it was tried."""
        deadline = deadline if deadline is not None else self._clock() + RETRY_WITHIN
        tries = 1
        while True:
            wait = backoff(tries - 1, BACKOFF_BASE, BACKOFF_CAP) if tries > 1 else 0.0  # a connection found closed: again at once
            if self._clock() + wait + TRY_TIMEOUT > deadline:
                raise Unreachable(f"{type(error).__name__} on each of {tries} tries")
            self._sleep(wait)
            tries += 1
            connection.disconnect()
            try:
                connection.send_packed_command([command])
                return connection.read_response()
            except (redis.ConnectionError, redis.TimeoutError) as failed:
                error = failed

    def _connection(self) -> Any:
        """The connection of this process; a forked child opens its own (a socket is never shared)."""
        pid = os.getpid()
        if self._held is None or self._held[0] != pid:
            connection: Any = self.client.connection_pool.make_connection()
            connection.socket_timeout = connection.socket_connect_timeout = TRY_TIMEOUT
            self._held = (pid, connection)
        return self._held[1]


def pack(command: Sequence[str | bytes | int]) -> bytes:
    """The command in Redis's protocol, as redis-py's client sends it (text as UTF-8, numbers as
    their digits), in one piece so it goes out in one send.

    Joined here rather than by hiredis's `pack_command`: that copies a large argument (the
    job's data, some 8 KB) three times and prints each length through C's printf, where one
    join copies it once (about 19 k instructions a delivery less)."""
    pieces = [b"*%d\r\n" % len(command)]
    for part in command:
        data = part if isinstance(part, bytes) else str(part).encode()
        pieces += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(pieces)
