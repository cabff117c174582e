"""The private parts of RQ the worker relies on, where RQ offers no public one: this fails when RQ changes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import JobStatus

import integration.worker as worker_module
from integration.queue import QUEUE_NAME
from integration.worker import COMMAND_POLL, FlowkeeperWorker, _asked_to_stop

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
