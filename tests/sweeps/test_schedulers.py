"""Real Redis, real processes: two `flowkeeper cron` clocks do not double-run a sweep, and a
worker killed in the middle of a sweep leaves its page to be retried with no item written twice."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from rq.job import Job

from integration.jobs import use_services
from integration.queue import QUEUE_NAME
from integration.services import utcnow
from tests.processes import process, wait_until
from tests.sweeps.fakesite import ADA, FakeIssue
from tests.sweeps.world import World

HOURLY = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 business days without human activity gets a label and a comment.
    on: [schedule]
    schedule: every 1 hour
    trackers: [jira]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 business days }
    then:
      - flag: { label: stalled, comment: "{{ key }} has stalled." }
"""


def cron_env(world: World, db_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(world.services.settings.rules_dir),
            "JIRA_URL": "https://acme.atlassian.net", "JIRA_USER": "flowkeeper@example.com",
            "JIRA_API_TOKEN": "jira-token", "FLOWKEEPER_RECONCILE_INTERVAL": "off", "FLOWKEEPER_LOG_FORMAT": "text"}


@pytest.mark.e2e
def test_two_clocks_enqueue_the_same_tick_and_the_sweep_runs_once(make_world: Callable[..., World], db_url: str,
                                                                   redis_url: str, tmp_path: Path) -> None:
    world = make_world("jira", rules=HOURLY, now=utcnow(), redis_url=redis_url)
    for n in range(1, 6):
        when = utcnow() - timedelta(days=30)
        world.site.add(FakeIssue(id=str(n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=when, created=when, assignee=ADA))
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    argv = [sys.executable, "-m", "integration.cli", "cron"]
    env = cron_env(world, db_url, redis_url)
    def sweep_starts() -> list[str]:  # the clock also enqueues its housekeeping (digests, retention)
        return [i for i in queue.get_job_ids()
                if Job.fetch(i, connection=connection).func_name.endswith("start_sweep")]

    with process(argv, env, tmp_path / "clock-1.log"), process(argv, env, tmp_path / "clock-2.log"):
        wait_until(lambda: len(sweep_starts()) >= 2, timeout=30)  # both clocks fired the hourly tick at start
        time.sleep(0.5)
    starts = sweep_starts()
    assert len(starts) == 2

    use_services(world.services)
    try:
        SimpleWorker([QUEUE_NAME], connection=connection).work(burst=True, logging_level="WARNING")
    finally:
        use_services(None)

    outcomes = sorted(str(Job.fetch(i, connection=connection).return_value()) for i in starts)
    assert sum("started" in o for o in outcomes) == 1, outcomes
    assert any("not stacked" in o or "already ran" in o for o in outcomes), outcomes
    assert len(world.services.store.sweep_runs.recent()) == 1
    assert world.site.writes == 10  # five items, label and comment each, once
    assert all(len(world.site.flowkeeper_comments(f"ENG-{n}")) == 1 for n in range(1, 6))
