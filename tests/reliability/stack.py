"""A whole deployment in processes, for fault tests, the soak test and the bench.

A private redis-server with AOF (so it can be killed and restarted on its own files),
the stub tracker, `flowkeeper serve` (gunicorn) and any number of `flowkeeper worker`
processes that a test may kill, stop or add.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis as redis_lib
import requests

from tests.foundation.helpers import JIRA_SECRET, LINEAR_SECRET, MINIMAL_RULES
from tests.processes import flowkeeper, free_port, stop, stub_tracker, wait_http, wait_until
from tests.stub import Stub


class PrivateRedis:
    """A redis-server this test owns: AOF on, restartable on the same folder."""

    def __init__(self, folder: Path, fsync: str = "everysec") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            from tests.conftest import unavailable

            unavailable("redis-server (the fault tests run a Redis of their own)")
            raise AssertionError("unreachable")
        self.binary, self.folder, self.fsync = binary, folder, fsync
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.fsync,
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), timeout=15)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)
        self.proc = None


def _pings(client: redis_lib.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_lib.RedisError:
        return False


@dataclass
class Stack:
    folder: Path
    redis: PrivateRedis
    env: dict[str, str]
    stub: Stub
    web: str
    exits: ExitStack
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        return self.env["DATABASE_URL"]

    def start_worker(self, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.folder / f"worker-{len(self.workers)}.log").open("wb")
        proc = subprocess.Popen(
            flowkeeper("worker", *extra),
            env=_environment({**self.env, **(env or {})}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()  # the child has its own copy
        self.workers.append(proc)
        self.exits.callback(stop, proc)
        return proc

    def post(self, tracker: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{self.web}/webhooks/{tracker}", data=body, headers=headers, timeout=10)

    def metrics(self) -> str:
        return requests.get(f"{self.web}/metrics", timeout=10).text


def start_stack(
    folder: Path,
    exits: ExitStack,
    *,
    database_url: str | None = None,
    fsync: str = "everysec",
    web_workers: int = 2,
    extra_env: dict[str, Any] | None = None,
) -> Stack:
    """Redis (AOF), the stub tracker, gunicorn; workers are started by the test."""
    redis = PrivateRedis(folder / "redis", fsync)
    redis.start()
    exits.callback(redis.stop)
    stub_port, web_port = free_port(), free_port()
    env = {
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'flowkeeper.sqlite'}",
        "REDIS_URL": redis.url,
        "RULES_DIR": str(MINIMAL_RULES),
        "JIRA_URL": f"http://127.0.0.1:{stub_port}",
        "JIRA_USER": "bot@acme.test",
        "JIRA_API_TOKEN": "tok-reliability",
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "LINEAR_API_KEY": "lin_api_rel",
        "LINEAR_API_URL": f"http://127.0.0.1:{stub_port}/graphql",
        "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
        "FLOWKEEPER_DRY_RUN": "0",
        "WEB_CONCURRENCY": str(web_workers),
        **{k: str(v) for k, v in (extra_env or {}).items()},
    }
    subprocess.run(flowkeeper("db", "upgrade"), env=_environment(env), check=True, capture_output=True)
    stub = _spawn(exits, stub_tracker(stub_port), env, folder / "stub.log")
    web = _spawn(
        exits, flowkeeper("serve", "--port", str(web_port), "--host", "127.0.0.1"), env, folder / "web.log"
    )
    wait_http(f"http://127.0.0.1:{stub_port}/_stub/requests", proc=stub)
    wait_http(f"http://127.0.0.1:{web_port}/healthz", proc=web)
    return Stack(
        folder, redis, env, Stub(f"http://127.0.0.1:{stub_port}"), f"http://127.0.0.1:{web_port}", exits
    )


def _spawn(exits: ExitStack, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            argv, env=_environment(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    exits.callback(stop, proc)
    return proc


def _environment(env: dict[str, str]) -> dict[str, str]:
    """This test's variables over the inherited ones; gunicorn picks its own metrics folder."""
    full = {**os.environ, **env}
    full.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return full


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not met within {timeout} s")
