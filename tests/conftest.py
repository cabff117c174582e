"""Real parts for the tests: a SQLite file or the local PostgreSQL, and a real Redis.

Redis: a private `redis-server` on a free port when the binary exists, else the one in
FLOWKEEPER_TEST_REDIS_URL / 127.0.0.1:6379. PostgreSQL: a fresh database per test run on
FLOWKEEPER_TEST_POSTGRES_URL (default: the local server). In CI (CI=true) a missing
service fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from integration.services import Services, build_services
from integration.settings import load_settings
from integration.store.migrate import upgrade
from integration.store.store import Store
from integration.store.tables import metadata
from tests.processes import free_port
from tests.services import MakeServices

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get("FLOWKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str) -> None:
    """Skip locally, fail in CI: tests that need a service never skip there."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        workdir = tmp_path_factory.mktemp("redis")
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis_lib.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        yield url
        proc.terminate()
        proc.wait(10)
        return
    url = os.environ.get("FLOWKEEPER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis_lib.Redis.from_url(url).ping()
    except redis_lib.ConnectionError:
        unavailable(f"Redis at {url}")
    yield url


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    client = redis_lib.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"flowkeeper_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        admin.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({type(error).__name__})")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Store tests run on both backends."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'flowkeeper.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.connect(db_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def make_services(db_url: str) -> Iterator[MakeServices]:
    """Services built the way every process builds them, from environment-style settings.

    `env` is laid over this test's database (`DATABASE_URL`), never over the machine's
    environment; `clients` replaces the tracker clients (a fake, or none).
    """
    built: list[Services] = []

    def make(env: Mapping[str, str] | None = None, *, clients: Mapping[str, Any] | None = None) -> Services:
        services = build_services(load_settings({"DATABASE_URL": db_url, **(env or {})}), clients=clients)
        built.append(services)
        return services

    yield make
    for services in built:
        services.store.engine.dispose()


@pytest.fixture
def any_store(any_db_url: str) -> Iterator[Store]:
    store = Store.connect(any_db_url)
    yield store
    store.engine.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_worker_services() -> Iterator[None]:
    """A job run in-process builds (or is handed) its services; never let them leak into the next test."""
    from integration.jobs import use_services

    use_services(None)
    yield
    use_services(None)
