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
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from rq import Queue, Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from integration.queue import QUEUE_NAME, job_id_for
from integration.store.audit import AuditFilter
from integration.store.store import Store
from integration.store.tables import write_claims
from tests.foundation.helpers import fixture, jira_request
from tests.reliability.stack import Stack, start_stack, wait_for
from tests.stub import jira_issue

pytestmark = pytest.mark.e2e


def in_progress_unassigned(key: str = "KAN-22", issue_id: str = "10022") -> dict[str, Any]:
    payload = copy.deepcopy(fixture("jira", "jira_issue_created.cloud-2024.json"))
    payload["issue"]["key"], payload["issue"]["id"] = key, issue_id
    payload["issue"]["fields"]["assignee"] = None
    payload["issue"]["fields"]["status"] = {
        "name": "In Progress",
        "id": "3",
        "statusCategory": {"key": "indeterminate", "name": "In Progress"},
    }
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
            conn.execute(
                update(write_claims)
                .where(write_claims.c.id == row.id)
                .values(claimed_at=row.claimed_at - timedelta(seconds=seconds))
            )
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
    wait_for(
        lambda: any(r["method"] == "POST" and r["path"].endswith("/comment") for r in stack.stub.requests()),
        what="the worker to be posting its comment",
    )
    os.killpg(worker.pid, signal.SIGKILL)  # mid-write: the stub still completes the POST it received
    worker.wait(10)
    stack.stub.fault("slow", count=0)
    wait_for(lambda: comments_on(stack, "KAN-22") == 1, what="the in-flight comment to land")
    pass_time(
        stack, 11 * 60
    )  # RQ recovers an abandoned job after its timeout + 60 s, at its next maintenance
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


# A deploy platform kills a process that outlives its grace after SIGTERM (Heroku: 30 s).
# A worker with no job in hand has nothing to finish, so it must be gone well inside that.
STOP_GRACE = 10.0


def idle_workers(stack: Stack) -> int:
    connection = redis_lib.Redis.from_url(stack.redis.url)
    return sum(worker.get_state() == "idle" for worker in Worker.all(connection=connection))


def test_sigterm_stops_an_idle_worker_within_a_deploys_grace(stack: Stack) -> None:
    worker = stack.start_worker()
    wait_for(lambda: idle_workers(stack) == 1, what="the worker to wait for jobs")
    time.sleep(1)  # well into its blocking wait for a job
    worker.terminate()  # SIGTERM to the worker itself, which stops its scheduler child
    assert worker.wait(STOP_GRACE) == 0


def test_sigterm_stops_a_worker_that_just_finished_jobs_within_a_deploys_grace(stack: Stack) -> None:
    stack.stub.seed_jira(jira_issue("KAN-22"), jira_issue("KAN-23"))
    worker = stack.start_worker()
    for key, issue_id in (("KAN-22", "10022"), ("KAN-23", "10023")):
        body, headers = jira_request(in_progress_unassigned(key, issue_id), delivery=f"burst-{key}")
        assert stack.post("jira", body, headers).json()["status"] == "queued"
    for key in ("KAN-22", "KAN-23"):
        wait_for(lambda key=key: delivery_state(stack, f"burst-{key}") == "done", what=f"{key} to be handled")
    wait_for(lambda: idle_workers(stack) == 1, what="the worker to be idle again")
    worker.terminate()  # SIGTERM to the worker itself, which stops its scheduler child
    assert worker.wait(STOP_GRACE) == 0


def test_sigusr2_makes_a_worker_write_its_threads_stacks_and_carry_on(stack: Stack) -> None:
    """An operator's way to see where a worker that looks stuck is waiting, without stopping it."""
    stack.stub.seed_jira(jira_issue("KAN-22"))
    worker = stack.start_worker()
    wait_for(lambda: idle_workers(stack) == 1, what="the worker to wait for jobs")
    log = stack.folder / "worker-0.log"
    worker.send_signal(signal.SIGUSR2)
    wait_for(lambda: "run_worker" in log.read_text(errors="replace"), what="the stacks in the worker's log")
    assert "Current thread" in log.read_text(errors="replace")
    body, headers = jira_request(in_progress_unassigned(), delivery="after-stacks")
    stack.post("jira", body, headers)
    wait_for(lambda: delivery_state(stack, "after-stacks") == "done", what="the worker to go on with jobs")
    assert worker.poll() is None


@pytest.mark.parametrize(
    "how, fsync",
    [(signal.SIGTERM, "everysec"), (signal.SIGKILL, "always")],
    ids=["restart-everysec", "crash-always"],
)
def test_redis_restarted_mid_stream_loses_no_accepted_delivery(tmp_path: Path, how: int, fsync: str) -> None:
    with ExitStack() as exits:
        stack = start_stack(tmp_path, exits, fsync=fsync)
        stack.stub.seed_jira(jira_issue("KAN-22"))
        answers: dict[str, int] = {}
        statuses: dict[str, str] = {}

        def send() -> None:
            for n in range(240):
                body, headers = jira_request(in_progress_unassigned(), delivery=f"stream-{n}")
                try:
                    response = stack.post("jira", body, headers)
                except Exception:  # noqa: BLE001 - a refused connection counts as not accepted
                    continue
                answers[f"stream-{n}"] = response.status_code
                statuses[f"stream-{n}"] = response.json().get("status", "")
                time.sleep(0.01)

        sender = threading.Thread(target=send)
        sender.start()
        wait_for(lambda: len(answers) >= 60, what="the stream to start")
        stack.redis.stop(how)
        time.sleep(4.0)  # longer than the receiver's retries of its connection (they end within 2.5 s)
        stack.redis.start()
        sender.join(120)
        accepted = sorted(d for d, s in statuses.items() if s == "queued")
        assert set(answers.values()) <= {200, 503}, answers
        assert 503 in answers.values(), "deliveries arriving while Redis was away were refused with 503"
        assert len(accepted) > 60
        connection = redis_lib.Redis.from_url(stack.redis.url)
        queued = set(Queue(QUEUE_NAME, connection=connection).get_job_ids())
        # every accepted delivery survived; a job Redis stored just as the restart cut its answer
        # (answered 503) may be there too: its tracker resends it and gets "duplicate"
        assert {job_id_for("jira", d) for d in accepted} <= queued
        stack.start_worker()
        store = Store.connect(stack.db_url)
        wait_for(
            lambda: store.deliveries.counts().get("done", 0) == len(queued),
            timeout=90,
            what="every accepted delivery to be processed",
        )
        store.engine.dispose()
        assert comments_on(stack, "KAN-22") == 1


def test_job_from_another_release_fails_clearly_and_the_new_release_runs_it(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rolling deploy: a job written by the next release reaches a worker of this one."""
    from datetime import datetime

    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from integration import codec
    from integration.jobs import use_services
    from integration.queue import RedisDeliveryQueue, job_id_for
    from integration.services import build_services
    from integration.settings import load_settings
    from integration.trackers.jira.normalize import JiraConfig, normalize
    from tests.foundation.helpers import MINIMAL_RULES

    connection = redis_lib.Redis.from_url(redis_url)
    event = normalize(in_progress_unassigned(), JiraConfig())
    assert event is not None
    event = replace(event, delivery_id="next-release-1")
    future = codec.BODY_PAYLOAD_VERSION + 1  # a version only the next release knows
    envelope = codec.event_envelope(event, datetime.now(UTC)) | {"v": future}
    assert RedisDeliveryQueue(connection).submit(
        "jira", "next-release-1", envelope, datetime.now(UTC)
    )
    services = build_services(
        load_settings({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES)})
    )
    use_services(services)
    try:
        SimpleWorker([QUEUE_NAME], connection=connection).work(burst=True)
        job = Job.fetch(job_id_for("jira", "next-release-1"), connection=connection)
        logged = "\n".join(
            r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records
        )
        assert (
            f"job payload version {future} is not understood by this release"
            in logged
        )
        assert job.get_status() == "scheduled" and job.retries_left == 5, "kept for a retry, not dropped"

        monkeypatch.setattr(codec, "EVENT_PAYLOAD_VERSION", future)  # the deploy lands
        queue = Queue(QUEUE_NAME, connection=connection)
        ScheduledJobRegistry(queue=queue, connection=connection).remove(job)
        queue.enqueue_job(job)  # the retry interval has passed
        SimpleWorker([QUEUE_NAME], connection=connection).work(burst=True)
        assert job.get_status(refresh=True) == "finished"
        assert services.store.deliveries.state_of("jira", "next-release-1") == "done"
    finally:
        use_services(None)
