"""Carry a sweep's steps out: in this process (embedded default, CLI) or as RQ jobs.

With Redis every step is its own job with a deterministic id, so a page is retried alone
(a crash loses at most a page) and a duplicated step cannot enqueue its successor twice.
A step that must wait for the tracker's rate limit is scheduled for later, not failed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import redis
from rq import Callback, Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

from integration.queue import QUEUE_NAME
from integration.sweeps.sweep import ApplyChunk, Later, Next, PlanPage, RetryStep, Step, Sweeper

log = logging.getLogger("flowkeeper.sweeps")

STEP_FUNC = "integration.sweeps.jobs.sweep_step"
START_FUNC = "integration.sweeps.jobs.start_sweep"
ON_STEP_FAILURE = Callback("integration.sweeps.jobs.step_failed")
STEP_RETRY = Retry(max=3, interval=[10, 60, 300])
STEP_TIMEOUT = 600


def step_args(step: Step) -> tuple[str, str, int]:
    if isinstance(step, PlanPage):
        return ("page", step.run_id, step.page)
    return ("apply", step.run_id, step.chunk)


def step_from_args(kind: str, run_id: str, number: int) -> Step:
    return PlanPage(run_id, number) if kind == "page" else ApplyChunk(run_id, number)


def step_job_id(step: Step) -> str:
    kind, run_id, number = step_args(step)
    return f"fk-sweep-{run_id}-{kind}-{number}"


class RqDispatch:
    """Hands each next step to the workers."""

    def __init__(self, connection: redis.Redis, queue: str = QUEUE_NAME) -> None:
        self.connection = connection
        self.queue = Queue(queue, connection=connection)

    def send(self, next_step: Next) -> None:
        if next_step is None:
            return
        if isinstance(next_step, Later):
            job_id = f"{step_job_id(next_step.step)}-later-{uuid.uuid4().hex[:8]}"
            self.queue.enqueue_in(timedelta(seconds=next_step.seconds), STEP_FUNC, *step_args(next_step.step),
                                  job_id=job_id, retry=STEP_RETRY, job_timeout=STEP_TIMEOUT, on_failure=ON_STEP_FAILURE,
                                  description=f"sweep step (after waiting: {next_step.why})")
            return
        job = Job.create(STEP_FUNC, args=step_args(next_step), id=step_job_id(next_step), connection=self.connection,
                         retry=STEP_RETRY, timeout=STEP_TIMEOUT, on_failure=ON_STEP_FAILURE,
                         description=f"sweep {step_args(next_step)[0]} {step_args(next_step)[2]}")
        try:
            self.queue.enqueue_job(job, unique=True)
        except DuplicateJobError:
            log.info("sweep.step.duplicate", extra={"job": job.id})

    def start(self, rule: str, tracker: str, trigger: str = "manual", force: bool = True) -> Job:
        """Ask a worker to start a sweep now (`flowkeeper sweep RULE --enqueue`)."""
        return self.queue.enqueue(START_FUNC, rule, tracker, trigger, force, job_timeout=STEP_TIMEOUT)


def run_inline(sweeper: Sweeper, first: Next, *, sleep: Callable[[float], None] = time.sleep,
               max_wait: float = 300.0, tries: int = 3, on_step: Callable[[Step], None] | None = None) -> None:
    """Run steps one after another in this process until the sweep ends."""
    step: Next = first
    failures = 0
    while step is not None:
        if isinstance(step, Later):
            sleep(min(step.seconds, max_wait))
            step = step.step
            continue
        current: Step = step
        try:
            if on_step is not None:
                on_step(current)
            step, failures = sweeper.run_step(current), 0
        except RetryStep as error:
            failures += 1
            if failures >= tries:
                sweeper.fail(current.run_id, f"gave up after {tries} tries: {error}")
                return
            sleep(min(2.0 ** failures, max_wait))
