"""Workers that survive Redis, and a dead worker's job handed back in a minute or two.

Real processes: a private redis-server (AOF) this test stops and restarts, the stub
tracker, gunicorn and `flowkeeper worker`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis as redis_lib
from rq.job import Job

from integration.queue import job_id_for
from tests.foundation.helpers import jira_request
from tests.reliability.metrics_text import value
from tests.reliability.stack import Stack, start_stack, wait_for
from tests.reliability.test_faults import comments_on, delivery_state, in_progress_unassigned
from tests.stub import jira_issue

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with ExitStack() as exits:
        yield start_stack(tmp_path, exits)


def job_status(stack: Stack, delivery: str) -> str | None:
    connection = redis_lib.Redis.from_url(stack.redis.url)
    try:
        status = Job.fetch(job_id_for("jira", delivery), connection=connection).get_status()
        return None if status is None else str(status.value)
    except Exception:  # noqa: BLE001 - Redis still away, or the job not there yet
        return None


def test_a_worker_rides_out_a_redis_outage_mid_job_and_keeps_the_outcome(stack: Stack) -> None:
    stack.stub.seed_jira(jira_issue("KAN-22"), jira_issue("KAN-23"))
    stack.stub.fault("slow", count=1000, delay=1.0)  # every tracker call takes a second
    worker = stack.start_worker()
    body, headers = jira_request(in_progress_unassigned(), delivery="outage-1")
    assert stack.post("jira", body, headers).json()["status"] == "queued"
    wait_for(lambda: any(r["method"] == "POST" and r["path"].endswith("/comment") for r in stack.stub.requests()),
             what="the job to be writing to the tracker")
    stack.redis.stop()
    time.sleep(6)  # the job finishes its tracker writes while Redis is away
    assert worker.poll() is None, "the worker is still running"
    stack.stub.fault("slow", count=0)
    stack.redis.start()
    wait_for(lambda: job_status(stack, "outage-1") == "finished", timeout=60,
             what="the job's outcome to be recorded once Redis is back")
    assert delivery_state(stack, "outage-1") == "done"
    assert comments_on(stack, "KAN-22") == 1
    body, headers = jira_request(in_progress_unassigned("KAN-23", "10023"), delivery="outage-2")
    assert stack.post("jira", body, headers).json()["status"] == "queued"
    wait_for(lambda: delivery_state(stack, "outage-2") == "done", timeout=60,
             what="the same worker to take new jobs after the outage")
    assert worker.poll() is None
    log = (stack.folder / "worker-0.log").read_text(errors="replace")
    assert "found an unhandled exception, quitting" not in log


def test_a_dead_workers_job_is_retried_within_two_minutes(stack: Stack) -> None:
    stack.stub.seed_jira(jira_issue("KAN-22"))
    stack.stub.fault("slow", count=1000, delay=1.0)
    first = stack.start_worker()
    body, headers = jira_request(in_progress_unassigned(), delivery="dead-1")
    assert stack.post("jira", body, headers).json()["status"] == "queued"
    wait_for(lambda: stack.stub.requests(), what="the job to start")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    stack.stub.fault("slow", count=0)
    stack.start_worker()
    wait_for(lambda: delivery_state(stack, "dead-1") == "done", timeout=150,
             what="the abandoned job to be retried")
    assert time.monotonic() - killed_at < 120, "retried within two minutes of the worker's death"
    assert comments_on(stack, "KAN-22") == 1
    wait_for(lambda: value(stack.metrics(), "flowkeeper_workers") == 1.0, timeout=150,
             what="the dead worker to leave the worker count")
