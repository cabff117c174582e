"""The private parts of RQ the worker relies on, where RQ offers no public one: this fails when RQ changes them."""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job, JobStatus

import integration.jobs as jobs_module
import integration.worker as worker_module
from integration.app import create_app
from integration.queue import DEDUPE_WINDOW, JOB_FUNC, QUEUE_NAME, RedisDeliveryQueue, job_id_for
from integration.worker import COMMAND_POLL, FlowkeeperWorker, _asked_to_stop
from tests.foundation.helpers import JIRA_SECRET, MINIMAL_RULES, fixture, jira_request
from tests.services import MakeServices

T = TypeVar("T")


def test_rq_records_every_outcome_through_the_hooks_the_worker_wraps(redis_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []

    def recording(step: Callable[[], T], what: str) -> T:
        steps.append(what)
        return step()

    monkeypatch.setattr(worker_module, "until_redis_answers", recording)
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    done, failed = queue.enqueue(len, [1, 2]), queue.enqueue(len, 3)  # len(3): TypeError
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    for job in (done, failed):
        worker.execute_job(job, queue)
    assert done.get_status(refresh=True) == JobStatus.FINISHED and failed.get_status(refresh=True) == JobStatus.FAILED
    assert steps == ["record a finished job", "record a failed job"]


def test_a_fresh_worker_has_the_stop_flags_and_has_not_been_asked_to_stop(redis_url: str) -> None:
    worker = FlowkeeperWorker([QUEUE_NAME], connection=redis_lib.Redis.from_url(redis_url))
    assert worker._stop_requested is False and worker._shutdown_requested_date is None
    assert not _asked_to_stop(worker)
    worker._shutdown_requested_date = object()  # what RQ's SIGTERM handler sets on an idle worker
    assert _asked_to_stop(worker)



def test_a_worker_leaves_its_command_channel_promptly_even_when_its_reader_saw_the_unsubscribe_first(
        redis_url: str) -> None:
    """The race behind minute-long exits after SIGTERM: the channel's reading thread takes the
    unsubscribe reply before it is told to stop, then waits a whole read for a subscription."""
    worker = FlowkeeperWorker([QUEUE_NAME], connection=redis_lib.Redis.from_url(redis_url))
    worker.subscribe()
    time.sleep(0.3)
    worker.pubsub.unsubscribe()  # the reply reaches the reading thread, still running
    time.sleep(0.3)
    started = time.monotonic()
    worker.unsubscribe()  # what RQ's teardown does on SIGTERM
    assert time.monotonic() - started < COMMAND_POLL + 1
    assert not worker.pubsub_thread.is_alive()


def test_a_deliverys_job_is_the_job_rq_builds_itself_and_its_worker_runs_it(redis_url: str) -> None:
    """The receiver writes each job with its own Lua script: the hash must read back as the job
    RQ's own unique enqueue stores (every field RQ sets, the data not compressed)."""
    connection = redis_lib.Redis.from_url(redis_url)
    deliveries = RedisDeliveryQueue(connection)
    envelope = {"v": 2, "tracker": "jira", "delivery_id": "d-1", "body": "{}", "item_key": "KAN-1"}
    assert deliveries.submit("jira", "d-1", envelope, datetime.now(UTC))
    assert not deliveries.submit("jira", "d-1", envelope, datetime.now(UTC)), "the same delivery again"
    ours = connection.hgetall(Job.key_for(job_id_for("jira", "d-1")))
    reference = deliveries._rq_job("jira", "d-2", envelope)
    deliveries.queue.enqueue_job(reference, unique=True)
    theirs = {k: v for k, v in connection.hgetall(reference.key).items() if v != b""}
    timestamps, compressed = {b"created_at", b"enqueued_at"}, {b"data", b"description"}
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k not in timestamps | compressed} == \
           {k: v for k, v in theirs.items() if k not in timestamps | compressed}
    assert ours[b"data"] == zlib.decompress(theirs[b"data"])
    assert ours[b"description"] == b"jira delivery d-1"
    job = Job.fetch(job_id_for("jira", "d-1"), connection=connection)
    assert (job.func_name, job.args, job.kwargs, job.get_status()) == (JOB_FUNC, (envelope,), {}, JobStatus.QUEUED)
    assert (job.retries_left, job.retry_intervals, job.timeout) == (6, [10, 30, 120, 600, 1800, 3600], 300)
    assert job.failure_callback is not None and job.origin == QUEUE_NAME
    assert Queue(QUEUE_NAME, connection=connection).job_ids == [job.id, reference.id]
    assert Queue.all(connection=connection) == [Queue(QUEUE_NAME, connection=connection)]


def test_a_finished_deliverys_job_is_kept_compressed_for_the_dedupe_window(redis_url: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver stores a job's data uncompressed; RQ's worker saves the job again when it ends,
    compressed, so the hash the two-day dedupe window keeps is the small one."""
    connection = redis_lib.Redis.from_url(redis_url)
    deliveries = RedisDeliveryQueue(connection)
    body = json.dumps({"padding": "x" * 8000})
    envelope = {"v": 2, "tracker": "jira", "delivery_id": "d-1", "body": body, "item_key": "KAN-1"}
    assert deliveries.submit("jira", "d-1", envelope, datetime.now(UTC))
    key = Job.key_for(job_id_for("jira", "d-1"))
    assert connection.hstrlen(key, "data") > 8000
    monkeypatch.setattr(jobs_module, "process_delivery", lambda envelope: "done")
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    assert worker.work(burst=True)
    job = Job.fetch(job_id_for("jira", "d-1"), connection=connection)
    assert job.get_status() == JobStatus.FINISHED and job.args == (envelope,)
    assert connection.hstrlen(key, "data") < 1000, "compressed when the job ended"
    assert 0 < connection.ttl(key) <= DEDUPE_WINDOW.total_seconds()


def test_a_forked_process_enqueues_on_a_connection_of_its_own(redis_url: str) -> None:
    """The receiver keeps one connection for its enqueue script; a forked child must not write
    on its parent's socket (parent and child enqueueing at once would read each other's replies)."""
    connection = redis_lib.Redis.from_url(redis_url)
    deliveries = RedisDeliveryQueue(connection)

    def envelope(delivery: str) -> dict[str, object]:
        return {"v": 2, "tracker": "jira", "delivery_id": delivery, "body": "{}", "item_key": "KAN-1"}

    def enqueuing_connections() -> set[int]:
        return {c["id"] for c in connection.client_list() if c["cmd"] == "evalsha"}

    assert deliveries.submit("jira", "parent-1", envelope("parent-1"), datetime.now(UTC))
    before = enqueuing_connections()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        queued = deliveries.submit("jira", "child-1", envelope("child-1"), datetime.now(UTC))
        os._exit(0 if queued and enqueuing_connections() - before else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0, "the child enqueued on a connection of its own"
    assert deliveries.submit("jira", "parent-2", envelope("parent-2"), datetime.now(UTC))
    assert not deliveries.submit("jira", "child-1", envelope("child-1"), datetime.now(UTC)), "seen in the child"
    assert Queue(QUEUE_NAME, connection=connection).count == 3


def test_a_finished_job_is_logged_once_without_how_long_its_result_is_kept(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """RQ's own lines for a job, less the two that repeat what a line says already."""
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    job = queue.enqueue(len, [1, 2], result_ttl=int(DEDUPE_WINDOW.total_seconds()))
    worker_module.quiet_job_lines()
    with caplog.at_level("INFO", logger="rq.worker"):
        FlowkeeperWorker([QUEUE_NAME], connection=connection).execute_job(job, queue)
    lines = [r.getMessage() for r in caplog.records if r.name == "rq.worker"]
    assert sum("Successfully completed" in line for line in lines) == 1
    assert not any("result is kept" in line for line in lines)
    assert not any("Job OK" in line for line in lines)


def test_a_delivery_job_ends_in_one_line_that_says_how_long_it_took(
        make_services: MakeServices, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """RQ's "Successfully completed … job in …s" line is left out for a delivery: Flowkeeper's own
    `job.delivery.done` names the delivery, its item and outcome, and carries the time the job took."""
    services = make_services({"REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES),
                              "JIRA_WEBHOOK_SECRET": JIRA_SECRET})
    body, headers = jira_request(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json"),
                                 delivery="timed-1")
    assert create_app(services=services).test_client().post("/webhooks/jira", data=body, headers=headers).json
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    (job,) = queue.jobs
    worker_module.quiet_job_lines()
    jobs_module.use_services(services)
    try:
        with caplog.at_level("INFO"):
            FlowkeeperWorker([QUEUE_NAME], connection=connection).execute_job(job, queue)
    finally:
        jobs_module.use_services(None)
    (done,) = [r for r in caplog.records if r.getMessage() == "job.delivery.done"]
    assert (done.delivery, done.item, done.outcome) == ("timed-1", "GBL-142", "no action")  # type: ignore[attr-defined]
    assert 0 < done.seconds < 30  # type: ignore[attr-defined]
    assert not any("Successfully completed" in r.getMessage() for r in caplog.records)
