"""Faults on real processes: workers killed and stopped, Redis restarted, old job payloads.

Each test runs a private Redis (AOF), the stub tracker, gunicorn and `flowkeeper worker`
processes, and checks what a user would notice: every accepted delivery reaches an
outcome and no item gets a second comment.
"""

from __future__ import annotations

import copy
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from integration.queue import QUEUE_NAME
from integration.store.audit import AuditFilter
from integration.store.store import Store
from integration.store.tables import write_claims
from tests.foundation.helpers import fixture, jira_request
from tests.reliability.metrics_text import value
from tests.reliability.stack import Stack, start_stack, wait_for
from tests.stub import jira_issue

pytestmark = pytest.mark.e2e


def in_progress_unassigned(key: str = "KAN-22", issue_id: str = "10022") -> dict[str, Any]:
    payload = copy.deepcopy(fixture("jira", "jira_issue_created.cloud-2024.json"))
    payload["issue"]["key"], payload["issue"]["id"] = key, issue_id
    payload["issue"]["fields"]["assignee"] = None
    payload["issue"]["fields"]["status"] = {"name": "In Progress", "id": "3",
                                            "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    return payload


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with ExitStack() as exits:
        yield start_stack(tmp_path, exits)


def comments_on(stack: Stack, key: str) -> int:
    return len(stack.stub.state()["jira_comments"].get(key, []))


def delivery_state(stack: Stack, delivery: str) -> str | None:
    return Store.connect(stack.db_url).deliveries.state_of("jira", delivery)


def pass_time(stack: Stack, seconds: int) -> None:
    """What `seconds` of waiting would do: claims age, item locks expire, RQ sees abandoned jobs."""
    store = Store.connect(stack.db_url)
    with store.engine.begin() as conn:
        for row in conn.execute(select(write_claims.c.id, write_claims.c.claimed_at)).all():
            conn.execute(update(write_claims).where(write_claims.c.id == row.id)
                         .values(claimed_at=row.claimed_at - timedelta(seconds=seconds)))
    connection = redis_lib.Redis.from_url(stack.redis.url)
    for pattern in ("flowkeeper:lock:*", "rq:scheduler-lock:*"):  # both expire on their own (300 s, 61 s)
        for key in connection.scan_iter(pattern):
            connection.delete(key)
    queue = Queue(QUEUE_NAME, connection=connection)
    StartedJobRegistry(queue=queue, connection=connection).cleanup(timestamp=time.time() + seconds)


def test_worker_killed_mid_write_is_retried_and_the_comment_is_posted_once(stack: Stack) -> None:
    stack.stub.seed_jira(jira_issue("KAN-22"))
    stack.stub.fault("slow", count=1000, delay=1.0)  # every tracker call takes a second
    worker = stack.start_worker()
    body, headers = jira_request(in_progress_unassigned(), delivery="kill-1")
    assert stack.post("jira", body, headers).json()["status"] == "queued"
    wait_for(lambda: any(r["method"] == "POST" and r["path"].endswith("/comment") for r in stack.stub.requests()),
             what="the worker to be posting its comment")
    os.killpg(worker.pid, signal.SIGKILL)  # mid-write: the stub still completes the POST it received
    worker.wait(10)
    stack.stub.fault("slow", count=0)
    wait_for(lambda: comments_on(stack, "KAN-22") == 1, what="the in-flight comment to land")
    pass_time(stack, 11 * 60)  # RQ recovers an abandoned job after its timeout + 60 s, at its next maintenance
    stack.start_worker()
    wait_for(lambda: delivery_state(stack, "kill-1") == "done", timeout=60, what="the retried job to finish")
    assert comments_on(stack, "KAN-22") == 1
    assert stack.stub.state()["jira_issues"]["KAN-22"]["fields"]["labels"] == ["needs-owner"]
    reasons = [e.reason for e in Store.connect(stack.db_url).audit.page(AuditFilter(item_key="KAN-22"))]
    assert any("comment already present" in r for r in reasons), reasons


def test_sigterm_lets_the_worker_finish_its_job_then_stop(stack: Stack) -> None:
    stack.stub.seed_jira(jira_issue("KAN-22"))
    stack.stub.fault("slow", count=1000, delay=0.5)
    worker = stack.start_worker()
    body, headers = jira_request(in_progress_unassigned(), delivery="term-1")
    stack.post("jira", body, headers)
    wait_for(lambda: stack.stub.requests(), what="the job to start")
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(60) == 0
    assert delivery_state(stack, "term-1") == "done"
    assert comments_on(stack, "KAN-22") == 1
