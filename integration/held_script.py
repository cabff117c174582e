"""A Lua script run on a Redis connection the process keeps for it.

The receiver runs its enqueue script once a delivery. Through redis-py's client each run
borrows a pooled connection (polling its socket first), records the command's timing for
redis-py's own telemetry and hands the connection back: some 110 k instructions a request
around a round trip that costs less itself. Sending on a connection kept for the script
skips that and keeps what the client gave: a connection Redis closed meanwhile (a restart,
an idle timeout) opened again before the delivery fails, the connection's periodic health
check, a connection of its own in a forked child, and the script loaded again when Redis
has forgotten it (a restart, `SCRIPT FLUSH`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis.exceptions import NoScriptError


class HeldScript:
    """`script(keys, args)`, like redis-py's `Script`, on this process's own connection."""

    def __init__(self, client: redis.Redis, source: str) -> None:
        self.client = client
        self.script = client.register_script(source)  # its SHA1, and loading it when Redis lacks it
        self._lock = threading.Lock()  # one command at a time on the connection (threaded servers)
        self._held: tuple[int, Any] | None = None  # (process id, connection)

    def __call__(self, keys: Sequence[str], args: Sequence[str | bytes | int]) -> Any:
        command = pack(("EVALSHA", self.script.sha, len(keys), *keys, *args))
        with self._lock:
            connection = self._connection()
            try:
                return self._send(connection, command)
            except NoScriptError:
                self.client.script_load(self.script.script)
                return self._send(connection, command)

    @staticmethod
    def _send(connection: Any, command: bytes) -> Any:
        """The reply; a connection found closed is opened again once (the pool's check before
        lending one, paid only when it fails). A script that ran before its reply was lost
        answers 0 the second time: the delivery is queued and reads as a duplicate."""
        try:
            connection.send_packed_command([command])
            return connection.read_response()
        except redis.ConnectionError:
            connection.disconnect()
            connection.send_packed_command([command])
            return connection.read_response()

    def _connection(self) -> Any:
        """The connection of this process; a forked child opens its own (a socket is never shared)."""
        pid = os.getpid()
        if self._held is None or self._held[0] != pid:
            self._held = (pid, self.client.connection_pool.make_connection())
        return self._held[1]


def pack(command: Sequence[str | bytes | int]) -> bytes:
    """The command in Redis's protocol, as redis-py's client sends it (text as UTF-8, numbers as
    their digits), packed by hiredis without the client's per-argument checks and encoder calls."""
    parts = tuple(part if isinstance(part, bytes) else str(part).encode() for part in command)
    return hiredis.pack_command(parts)  # type: ignore[arg-type]  # its stub types one element, not many
