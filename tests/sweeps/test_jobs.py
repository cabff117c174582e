"""The RQ side of sweeps: steps that must wait are scheduled, not failed; a step out of retries fails its run visibly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from integration.jobs import use_services
from integration.queue import QUEUE_NAME
from integration.store.audit import AuditFilter
from integration.sweeps.dispatch import RqDispatch, step_job_id
from integration.sweeps.jobs import step_failed
from integration.sweeps.sweep import ApplyChunk, Later, PlanPage
from tests.sweeps.world import World

RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 business days without human activity gets a label.
    on: [schedule]
    when: { all: [{ status.category: in_progress }, { last_activity: { older_than: 5 business days } }] }
    then: [{ flag: { label: stalled } }]
"""


@pytest.fixture
def world(make_world: Callable[..., World], redis_url: str) -> Iterator[World]:
    made = make_world("jira", rules=RULES, now=datetime.now(UTC), redis_url=redis_url)
    use_services(made.services)
    yield made
    use_services(None)


def test_each_step_is_enqueued_once_and_a_wait_is_scheduled(world: World) -> None:
    assert world.services.redis is not None
    dispatch, queue = RqDispatch(world.services.redis), Queue(QUEUE_NAME, connection=world.services.redis)
    dispatch.send(PlanPage("run-1", 3))
    dispatch.send(PlanPage("run-1", 3))  # a duplicated step job hands on its successor once
    assert queue.get_job_ids() == [step_job_id(PlanPage("run-1", 3))] == ["fk-sweep-run-1-page-3"]
    dispatch.send(Later(ApplyChunk("run-1", 2), 45.0, "rate limit"))
    scheduled = ScheduledJobRegistry(QUEUE_NAME, connection=world.services.redis)
    [job_id] = scheduled.get_job_ids()
    assert job_id.startswith("fk-sweep-run-1-apply-2-later-")
    when = scheduled.get_scheduled_time(job_id)
    assert timedelta(seconds=40) < when - datetime.now(UTC) <= timedelta(seconds=45)


def test_a_step_out_of_retries_fails_its_run_and_frees_the_lease(world: World) -> None:
    sweeper = world.sweeper()
    started = sweeper.start("stalled", "jira", "manual", force=True)
    assert started.run_id is not None
    job = SimpleNamespace(retries_left=0, args=("page", started.run_id, 0))
    step_failed(job, None, TimeoutError, TimeoutError("Jira did not answer"), None)
    run = world.services.store.sweep_runs.get(started.run_id)
    assert run.state == "failed" and "TimeoutError: Jira did not answer" in (run.reason or "")
    failed = world.services.store.audit.page(AuditFilter(outcome="failed", rule="stalled"))
    assert failed and "Jira did not answer" in failed[0].reason  # never silent
    assert sweeper.start("stalled", "jira", "manual", force=True).run_id is not None  # the next run may start
