"""A running job keeps its claim in RQ's started registry while it runs, and only while it runs:
a claim that lapsed would let RQ's maintenance hand a live job to another worker."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import JobStatus

import integration.worker as worker_module
from integration.queue import QUEUE_NAME
from integration.worker import FlowkeeperWorker


def slow_job(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def lapsed_claims(queue: Queue, until: threading.Event, seen: list[str]) -> None:
    while not until.wait(0.1):
        seen.extend(queue.started_job_registry.get_expired_job_ids())


def test_jobs_longer_than_a_claim_keep_it_while_they_run(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "HEARTBEAT_TTL", 2)  # a claim lives 1-2 s unless renewed (RQ's whole seconds)
    monkeypatch.setattr(worker_module, "HEARTBEAT_EVERY", 0.3)
    monkeypatch.setattr(worker_module, "HEARTBEAT_TICK", 0.05)
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    jobs = [queue.enqueue(slow_job, 2.5), queue.enqueue(slow_job, 0.1), queue.enqueue(slow_job, 2.5)]
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    done, seen = threading.Event(), []
    watcher = threading.Thread(target=lapsed_claims, args=(queue, done, seen))
    watcher.start()
    try:
        for job in jobs:  # one worker, one heartbeat thread, one job after another
            worker.execute_job(job, queue)
            assert job.get_status(refresh=True) == JobStatus.FINISHED
    finally:
        done.set()
        watcher.join()
    assert seen == [], "a running job's claim lapsed"
    assert queue.started_job_registry.get_job_ids() == [], "a finished job was beaten back into the registry"


def test_a_beat_that_fails_for_any_reason_does_not_end_the_heartbeats(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One thread beats for every job of the worker: an unexpected error in one beat is logged, and the
    next beats, this job's and later jobs', still keep their claims."""
    monkeypatch.setattr(worker_module, "HEARTBEAT_TTL", 2)
    monkeypatch.setattr(worker_module, "HEARTBEAT_EVERY", 0.3)
    monkeypatch.setattr(worker_module, "HEARTBEAT_TICK", 0.05)
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    beat, failed = worker.maintain_heartbeats, []

    def first_beat_fails(job: object, execution: object) -> None:
        if not failed:
            failed.append(job)
            raise ValueError("an unexpected answer")
        beat(job, execution)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "maintain_heartbeats", first_beat_fails)
    jobs = [queue.enqueue(slow_job, 2.5), queue.enqueue(slow_job, 2.5)]
    done, seen = threading.Event(), []
    watcher = threading.Thread(target=lapsed_claims, args=(queue, done, seen))
    watcher.start()
    try:
        for job in jobs:
            worker.execute_job(job, queue)
            assert job.get_status(refresh=True) == JobStatus.FINISHED
    finally:
        done.set()
        watcher.join()
    assert failed, "the failing beat ran"
    assert seen == [], "a running job's claim lapsed after one beat failed"
