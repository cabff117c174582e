"""Real Redis, real processes: two `flowkeeper cron` clocks do not double-run a sweep, and a
worker killed in the middle of a sweep leaves its page to be retried with no item written twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from rq.job import Job

from integration.jobs import use_services
from integration.queue import QUEUE_NAME
from integration.services import utcnow
from tests.processes import process, wait_until
from tests.sweeps.world import World, add_stalled, stalled_rules, write_rules

HOURLY = stalled_rules("schedule: every 1 hour", "trackers: [jira]")


def cron_env(world: World, db_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(world.services.settings.rules_dir),
            "JIRA_URL": "https://acme.atlassian.net", "JIRA_USER": "flowkeeper@example.com",
            "JIRA_API_TOKEN": "jira-token", "FLOWKEEPER_RECONCILE_INTERVAL": "off", "FLOWKEEPER_LOG_FORMAT": "text"}


@pytest.mark.e2e
def test_two_clocks_enqueue_the_same_tick_and_the_sweep_runs_once(make_world: Callable[..., World], db_url: str,
                                                                   redis_url: str, tmp_path: Path) -> None:
    world = make_world("jira", rules=HOURLY, now=utcnow(), redis_url=redis_url)
    add_stalled(world, 5)
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


def clock_says(env: dict[str, str], log: Path) -> str:
    """Start `flowkeeper cron`, wait for its start-up line, stop it; return that line."""
    argv = [sys.executable, "-m", "integration.cli", "cron"]
    with process(argv, env, log):
        wait_until(lambda: "flowkeeper cron: registered" in log.read_text(), timeout=30)
    return next(line for line in log.read_text().splitlines() if line.startswith("flowkeeper cron: registered"))


@pytest.mark.e2e
def test_the_clock_says_at_start_up_which_sweeps_it_registered_or_why_none(
        make_world: Callable[..., World], db_url: str, redis_url: str, tmp_path: Path) -> None:
    world = make_world("jira", rules=HOURLY, now=utcnow(), redis_url=redis_url)
    env = cron_env(world, db_url, redis_url)
    assert clock_says(env, tmp_path / "one.log") == "flowkeeper cron: registered 1 sweep: stalled on jira every hour"

    without = {**env, "JIRA_URL": "", "JIRA_USER": "", "JIRA_API_TOKEN": "", "LINEAR_API_KEY": ""}
    said = clock_says(without, tmp_path / "none.log")
    assert said.startswith("flowkeeper cron: registered no sweeps: no tracker has credentials"), said

    linear_only = write_rules(tmp_path / "linear-rules", HOURLY.replace("trackers: [jira]", "trackers: [linear]"))
    said = clock_says({**env, "RULES_DIR": str(linear_only)}, tmp_path / "linear.log")
    assert "registered no sweeps: the scheduled rules (stalled) name only linear, which has no credentials" in said

    unscheduled = write_rules(tmp_path / "event-rules", HOURLY.replace("on: [schedule]", "on: [updated]"))
    said = clock_says({**env, "RULES_DIR": str(unscheduled)}, tmp_path / "events.log")
    assert "registered no sweeps: no rule has the `schedule` trigger" in said


def test_without_redis_the_clock_says_sweeps_run_inside_serve(tmp_path: Path, db_url: str) -> None:
    argv = [sys.executable, "-m", "integration.cli", "cron"]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"DATABASE_URL": db_url}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "without it, `flowkeeper serve` runs sweeps in-process" in done.stderr
