"""Dependencies misbehaving: the database away for a while, tracker 429/5xx storms, timeouts.

What must hold: bounded retries, a reason in the audit log for every failed attempt, the
worker keeps running (no crash loop), and once things recover the write happens once.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from integration.observability import record
from integration.observability.figures import MemoryFigures
from integration.store.audit import AuditFilter
from integration.store.store import Store
from integration.trackers.base import TrackerUnavailable
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.retry import RetryPolicy
from tests.conftest import POSTGRES_ADMIN_URL, unavailable
from tests.foundation.helpers import fixture, jira_request
from tests.reliability.metrics_text import value
from tests.reliability.stack import Stack, start_stack, wait_for
from tests.stub import jira_issue, running_stub

pytestmark = pytest.mark.e2e


def in_progress_unassigned() -> dict[str, Any]:
    payload = copy.deepcopy(fixture("jira", "jira_issue_created.cloud-2024.json"))
    payload["issue"]["fields"]["assignee"] = None
    payload["issue"]["fields"]["status"] = {
        "name": "In Progress",
        "id": "3",
        "statusCategory": {"key": "indeterminate", "name": "In Progress"},
    }
    return payload


def comments_on(stack: Stack, key: str = "KAN-22") -> int:
    return len(stack.stub.state()["jira_comments"].get(key, []))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own, so the test can refuse connections to it."""
    name = f"flowkeeper_outage_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - no PostgreSQL here
        admin.dispose()
        unavailable(f"PostgreSQL ({type(error).__name__})")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def set_database_open(url: str, open_: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if open_ else "false"}'))
        if not open_:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
    admin.dispose()


@pytest.mark.postgres
def test_database_briefly_away_delays_the_write_without_losing_it(tmp_path: Path, postgres_url: str) -> None:
    with ExitStack() as exits:
        stack = start_stack(tmp_path, exits, database_url=postgres_url)
        exits.callback(set_database_open, postgres_url, True)
        stack.stub.seed_jira(jira_issue("KAN-22"))
        worker = stack.start_worker()
        set_database_open(postgres_url, False)
        assert requests.get(f"{stack.web}/healthz", timeout=10).status_code == 503
        body, headers = jira_request(in_progress_unassigned(), delivery="db-away-1")
        assert stack.post("jira", body, headers).json()["status"] == "queued", "Redis still takes deliveries"
        time.sleep(3)  # the worker tries, fails on the database and schedules a retry
        assert worker.poll() is None, "the worker keeps running"
        set_database_open(postgres_url, True)
        store = Store.connect(postgres_url)
        exits.callback(store.engine.dispose)
        wait_for(
            lambda: store.deliveries.state_of("jira", "db-away-1") == "done",
            timeout=60,
            what="the retried job",
        )
        assert comments_on(stack) == 1
        assert requests.get(f"{stack.web}/healthz", timeout=10).status_code == 200
        assert worker.poll() is None


@pytest.mark.parametrize("storm", ["429", "503"])
def test_tracker_storm_ends_in_bounded_retries_with_reasons_then_one_write(
    tmp_path: Path, storm: str
) -> None:
    with ExitStack() as exits:
        stack = start_stack(tmp_path, exits)
        stack.stub.seed_jira(jira_issue("KAN-22"))
        stack.stub.fault(storm, count=10, retry_after=1, methods=["POST", "PUT"])  # the writes meet the storm
        worker = stack.start_worker()
        body, headers = jira_request(in_progress_unassigned(), delivery=f"storm-{storm}")
        stack.post("jira", body, headers)
        store = Store.connect(stack.db_url)
        exits.callback(store.engine.dispose)
        wait_for(
            lambda: store.deliveries.state_of("jira", f"storm-{storm}") == "done",
            timeout=90,
            what="the delivery to succeed after the storm",
        )
        failed = store.audit.page(AuditFilter(item_key="KAN-22", outcome="failed"))
        expected = "RateLimited" if storm == "429" else "TrackerUnavailable"
        assert failed and all(expected in e.reason and f"→ {storm}" in e.reason for e in failed), failed
        assert comments_on(stack) == 1
        assert worker.poll() is None
        outcome = "rate_limited" if storm == "429" else "server_error"
        def calls() -> float:
            return value(stack.metrics(), "flowkeeper_tracker_calls_total", tracker="jira", outcome=outcome)

        wait_for(lambda: calls() == 10, timeout=10, what="every refused call counted")  # sent as jobs end
        assert value(stack.metrics(), "flowkeeper_jobs_total", tracker="jira", outcome="retry") >= 1


def test_tracker_timeouts_end_after_bounded_tries() -> None:
    record.use_figures(MemoryFigures())
    try:
        with running_stub() as stub:
            stub.seed_jira(jira_issue("KAN-22"))
            stub.fault("slow", count=100, delay=1.0)
            client = JiraClient(
                stub.url,
                "bot@acme.test",
                "tok",
                config=JiraConfig(),
                timeout=0.3,
                retry=RetryPolicy(tries=3, base_delay=0.05),
            )
            started = time.monotonic()
            with pytest.raises(TrackerUnavailable, match="timed out"):
                client.get_item("KAN-22")
            assert time.monotonic() - started < 3.0
            paths = [r["path"] for r in stub.requests()]
            # the issue three times; the optional site lookup (field list) once, never retried
            assert paths.count("/rest/api/3/issue/KAN-22") == 3
            assert paths.count("/rest/api/3/field") == 1 and len(paths) == 4
            counted = record.figures().read().counters
            assert counted["flowkeeper_tracker_calls_total\x1foutcome=timeout\x1ftracker=jira"] == 4
    finally:
        record.use_figures(None)
