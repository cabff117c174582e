"""A running job keeps its claim in RQ's started registry while it runs, and only while it runs:
a claim that lapsed would let RQ's maintenance hand a live job to another worker."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job, JobStatus

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


def quick_job() -> str:
    return "done"


def commands_sent(connection: redis_lib.Redis) -> list[tuple[str, ...]]:
    """The commands `connection` sends outside a pipeline from now on (name and two arguments each)."""
    sent: list[tuple[str, ...]] = []
    execute = connection.execute_command

    def counting(*args: object, **options: object) -> object:
        sent.append(tuple(a.decode() if isinstance(a, bytes) else str(a) for a in args[:3]))
        return execute(*args, **options)

    connection.execute_command = counting  # type: ignore[method-assign]
    return sent


def test_a_busy_worker_renews_its_own_key_about_once_a_second_and_it_never_nears_expiry(redis_url: str) -> None:
    """RQ renews the worker's key before and after every dequeue (three round trips each) and writes
    IDLE twice a job; a worker draining a queue of quick jobs does so at most once a second, while
    the key keeps well over the 45 s a dequeue may wait."""
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    jobs = [queue.enqueue(quick_job) for _ in range(40)]
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    sent = commands_sent(connection)
    watcher_connection = redis_lib.Redis.from_url(redis_url)
    done, lowest = threading.Event(), [10_000]

    def watch_ttl() -> None:
        while not done.wait(0.01):
            ttl = watcher_connection.ttl(worker.key)
            if ttl > 0:
                lowest[0] = min(lowest[0], ttl)

    watcher = threading.Thread(target=watch_ttl)
    started = time.monotonic()
    watcher.start()
    try:
        worker.work(burst=True)
    finally:
        done.set()
        watcher.join()
    seconds = time.monotonic() - started
    assert all(job.get_status(refresh=True) == JobStatus.FINISHED for job in jobs)
    renewals = [c for c in sent if c[:2] == ("EXPIRE", worker.key)]
    idle_writes = [c for c in sent if c == ("HSET", worker.key, "state")]
    assert len(renewals) <= 2 * (3 + seconds), f"{len(renewals)} direct renewals of the worker's key for 40 jobs"
    assert len(idle_writes) <= len(jobs) + 3, f"{len(idle_writes)} state writes outside a pipeline for 40 jobs"
    assert lowest[0] > 45, f"the worker's key came within {lowest[0]} s of expiring"


def test_a_job_ends_with_its_last_heartbeat_written_with_its_outcome_in_no_round_trip_of_its_own(
        redis_url: str) -> None:
    """RQ wrote the job's last heartbeat alone just before its outcome, which writes the job's hash:
    the finished and the failed job still carry it, no earlier than the job's end."""
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    done, failed = queue.enqueue(quick_job), queue.enqueue(len, 3)  # len(3): TypeError
    worker = FlowkeeperWorker([QUEUE_NAME], connection=connection)
    sent = commands_sent(connection)
    for job in (done, failed):
        worker.execute_job(job, queue)
    for job, status in ((done, JobStatus.FINISHED), (failed, JobStatus.FAILED)):
        stored = Job.fetch(job.id, connection=connection)
        assert stored.get_status() == status
        assert stored.last_heartbeat is not None and stored.ended_at is not None
        assert stored.last_heartbeat >= stored.ended_at >= stored.started_at  # type: ignore[operator]
    assert not [c for c in sent if c[0] == "HSET" and c[2] == "last_heartbeat"]
