"""The enqueue script's command reaches Redis in the protocol's exact bytes, as redis-py's client sends it."""

from __future__ import annotations

import pytest
from redis.connection import PythonRespSerializer

from integration.held_script import pack


def _client_bytes(*args: str | bytes | int) -> bytes:
    """redis-py's own packing of the same command (its pure-Python serializer), as one piece."""
    serializer = PythonRespSerializer(6000, lambda value: value if isinstance(value, bytes) else str(value).encode())
    return b"".join(serializer.pack(*args))


@pytest.mark.parametrize("args", [
    ("EVALSHA", "a" * 40, 3, "rq:job:fk-jira-1", "rq:queue:flowkeeper", "rq:queues", "fk-jira-1",
     b"\x80\x05" + bytes(range(256)) * 40, "2026-12-05T06:00:00.000000Z", "jira delivery d-1"),
    ("EVALSHA", "sha", 0, "", b"", "ünïcode ✓ \r\n$*", -12, 0),
    ("PING",),
])
def test_a_command_packs_to_the_clients_bytes(args: tuple[str | bytes | int, ...]) -> None:
    assert pack(args) == _client_bytes(*args)
