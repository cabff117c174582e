"""The receiver rides out a Redis failover: a short bounded retry instead of a 503.

A private redis-server (AOF, so a restart keeps what it held) that each test restarts or
pauses while a delivery is being enqueued; the app is called in this process.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue

from integration.app import create_app
from integration.queue import QUEUE_NAME, job_id_for
from tests.foundation.helpers import JIRA_SECRET, MINIMAL_RULES, fixture, jira_request
from tests.processes import free_port
from tests.reliability.stack import PrivateRedis

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"
LINEAR_TIMEOUT = 5.0  # Linear counts a delivery not answered within 5 s as failed (Jira: 10 s)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    if server.proc is not None:
        server.proc.send_signal(signal.SIGCONT)
    server.stop()


class FailoverProxy:
    """Redis behind an address whose connections can go silent (neither answer nor close), as
    connections to a primary that fails over do; connections opened afterwards reach Redis."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream, self.port, self.frozen = upstream_port, free_port(), threading.Event()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def silence_open_connections(self) -> None:
        for _client, _server, silent in self.pairs:
            silent.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server, silent = socket.create_connection(("127.0.0.1", self.upstream)), threading.Event()
            self.pairs.append((client, server, silent))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target, silent), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, silent: threading.Event) -> None:
        while chunk := _recv(source):
            if not silent.is_set():
                target.sendall(chunk)

    def close(self) -> None:
        self.listener.close()
        for client, server, _silent in self.pairs:
            client.close()
            server.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def post(app_client: object, delivery: str) -> tuple[int, dict[str, str], float]:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery=delivery)
    started = time.monotonic()
    response = app_client.post("/webhooks/jira", data=body, headers=headers)  # type: ignore[attr-defined]
    return response.status_code, response.json, time.monotonic() - started


def client_for(server: PrivateRedis | FailoverProxy, tmp_path: Path) -> object:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fk.sqlite'}", "REDIS_URL": server.url,
           "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "RULES_DIR": str(MINIMAL_RULES)}
    return create_app(env).test_client()


def queued_ids(server: PrivateRedis) -> list[str]:
    queue = Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(server.url))
    return list(queue.get_job_ids())


def after(seconds: float, do: object) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), do()))  # type: ignore[operator]
    thread.start()
    return thread


def test_a_delivery_during_a_redis_restart_is_queued_once_not_refused(
        redis_server: PrivateRedis, tmp_path: Path) -> None:
    client = client_for(redis_server, tmp_path)
    assert post(client, "before-restart")[0] == 200  # the receiver's connection to Redis is open
    redis_server.stop()
    back = after(0.3, redis_server.start)
    status, answer, took = post(client, "during-restart")
    back.join()
    assert (status, answer["status"]) == (200, "queued")
    assert took < LINEAR_TIMEOUT - 1
    assert queued_ids(redis_server) == [job_id_for("jira", "before-restart"), job_id_for("jira", "during-restart")]


def test_a_redis_that_stops_answering_for_a_moment_costs_no_refusal_and_no_second_job(
        redis_server: PrivateRedis, tmp_path: Path) -> None:
    client = client_for(redis_server, tmp_path)
    assert post(client, "before-pause")[0] == 200
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)  # a failover in progress: connections open, no answers
    resumed = after(1.5, lambda: redis_server.proc.send_signal(signal.SIGCONT))  # type: ignore[union-attr]
    status, answer, took = post(client, "during-pause")
    resumed.join()
    # The first try's script runs once Redis answers again, so a later try may find the delivery queued.
    assert status == 200 and answer["status"] in ("queued", "duplicate")
    assert took < LINEAR_TIMEOUT - 1
    assert queued_ids(redis_server) == [job_id_for("jira", "before-pause"), job_id_for("jira", "during-pause")]


def test_a_connection_that_goes_silent_in_a_failover_times_out_and_the_delivery_goes_through_a_new_one(
        redis_server: PrivateRedis, tmp_path: Path) -> None:
    proxy = FailoverProxy(redis_server.port)
    try:
        client = client_for(proxy, tmp_path)
        assert post(client, "before-failover")[0] == 200
        proxy.silence_open_connections()
        status, answer, took = post(client, "during-failover")
    finally:
        proxy.close()
    assert (status, answer["status"]) == (200, "queued")
    assert took < LINEAR_TIMEOUT - 1
    assert queued_ids(redis_server) == [job_id_for("jira", "before-failover"), job_id_for("jira", "during-failover")]


def test_redis_really_down_is_a_503_naming_redis_well_within_the_trackers_timeout(
        redis_server: PrivateRedis, tmp_path: Path) -> None:
    client = client_for(redis_server, tmp_path)
    assert post(client, "before-outage")[0] == 200
    redis_server.stop()
    status, answer, took = post(client, "during-outage")
    assert (status, answer["status"]) == (503, "unavailable")
    assert "Redis" in answer["reason"] and "retry later" in answer["reason"]
    assert took < LINEAR_TIMEOUT - 1
    redis_server.start()
    assert queued_ids(redis_server) == [job_id_for("jira", "before-outage")]  # the tracker sends it again
