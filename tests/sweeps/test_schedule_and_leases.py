"""When sweeps are due (cron in the rule's zone, intervals, the global default), and the leases
that keep one sweep per rule and tracker — on real Redis and on the database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job

from integration.clock.cron import SweepScheduler, ZonedCronJob
from integration.queue import QUEUE_NAME
from integration.settings import SettingsError
from integration.settings_sweeps import SweepSettings, load_sweep_settings
from integration.store.store import Store
from integration.sweeps.locks import DatabaseLeases, Leases, RedisLeases
from integration.sweeps.schedule import Schedule, rule_schedule, sweep_targets
from rules.loader import load_ruleset
from tests.sweeps.world import write_rules

T = datetime(2026, 3, 13, 12, 7, tzinfo=UTC)  # a Friday
RULES = """
version: 1
rules:
  - name: weekday-mornings
    description: Sweeps at 09:00 Berlin time on weekdays.
    on: [schedule]
    schedule: "0 9 * * 1-5"
    timezone: Europe/Berlin
    trackers: [jira]
    when: { status.category: in_progress }
    then: [{ add_labels: [x] }]
  - name: default-interval
    description: Sweeps on the global default.
    on: [schedule, updated]
    when: { status.category: in_progress }
    then: [{ add_labels: [y] }]
  - name: webhooks-only
    description: Never swept.
    on: [created]
    when: { status.category: todo }
    then: [{ add_labels: [z] }]
"""


def test_cron_ticks_are_wall_clock_time_in_the_rules_zone() -> None:
    berlin = Schedule("0 9 * * 1-5", "Europe/Berlin")
    assert berlin.next_after(T) == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    assert berlin.latest_at_or_before(T) == datetime(2026, 3, 13, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert berlin.next_after(summer) == datetime(2026, 4, 2, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert berlin.is_due(datetime(2026, 3, 12, 8, 0, tzinfo=UTC), T)
    assert not berlin.is_due(datetime(2026, 3, 13, 8, 0, 5, tzinfo=UTC), T)
    assert berlin.same_slot(datetime(2026, 3, 13, 8, 0, 1, tzinfo=UTC), T)  # a second scheduler, same tick
    assert not berlin.same_slot(datetime(2026, 3, 12, 8, 0, 1, tzinfo=UTC), T)
    twice = Schedule("0 9,10 * * *")  # uneven ticks: 10:00 is its own slot
    assert not twice.same_slot(datetime(2026, 3, 13, 9, 0, 2, tzinfo=UTC), datetime(2026, 3, 13, 10, 0, 1, tzinfo=UTC))


def test_interval_slots_are_aligned_so_every_process_agrees() -> None:
    half_hour = Schedule(timedelta(minutes=30))
    assert half_hour.latest_at_or_before(T) == datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
    assert half_hour.next_after(T) == datetime(2026, 3, 13, 12, 30, tzinfo=UTC)
    assert half_hour.is_due(None, T) and half_hour.is_due(T - timedelta(minutes=30), T)
    assert not half_hour.is_due(T - timedelta(minutes=29), T)
    assert half_hour.same_slot(T - timedelta(minutes=14), T) and not half_hour.same_slot(T - timedelta(minutes=16), T)


def test_scheduled_rules_get_their_own_schedule_or_the_global_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ruleset = load_ruleset([write_rules(tmp_path, RULES)])
    settings = SweepSettings(default_schedule=timedelta(minutes=20))
    targets = list(sweep_targets(ruleset, {"jira", "linear"}, settings))
    assert [(t.rule, t.tracker) for t in targets] == [
        ("weekday-mornings", "jira"), ("default-interval", "jira"), ("default-interval", "linear")]
    assert rule_schedule(ruleset.rule("default-interval"), settings) == Schedule(timedelta(minutes=20), "UTC")
    assert rule_schedule(ruleset.rule("webhooks-only"), settings) is None
    assert [t.tracker for t in sweep_targets(ruleset, {"linear"}, settings)] == ["linear"]  # jira not configured


def test_rq_cron_jobs_follow_the_rule_zone(redis_url: str) -> None:
    scheduler = SweepScheduler(connection=redis_lib.Redis.from_url(redis_url), name="")
    job = scheduler.sweep("weekday-mornings", "jira", Schedule("0 9 * * 1-5", "Europe/Berlin"))
    assert isinstance(job, ZonedCronJob) and job.name == "sweep:jira:weekday-mornings"
    job.set_enqueue_time(T)
    assert job.next_enqueue_time == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    interval = scheduler.sweep("default-interval", "linear", Schedule(timedelta(minutes=30)))
    assert interval.interval == 1800 and interval.kwargs == {"rule": "default-interval", "tracker": "linear"}


def test_rqs_scheduler_lists_and_enqueues_a_zoned_job_added_to_its_own_list(redis_url: str) -> None:
    """RQ has no public way to add a job object; this fails if RQ stops keeping its jobs where the clock puts them."""
    connection = redis_lib.Redis.from_url(redis_url)
    scheduler = SweepScheduler(connection=connection, name="")
    zoned = scheduler.sweep("weekday-mornings", "jira", Schedule("0 9 * * 1-5", "Europe/Berlin"))
    every = scheduler.sweep("default-interval", "linear", Schedule(timedelta(minutes=30)))
    assert scheduler.get_jobs() == [zoned, every]
    zoned.next_enqueue_time = datetime.now(UTC) - timedelta(seconds=1)  # due now
    assert scheduler.enqueue_jobs() == [zoned, every]  # an interval job that never ran is due at once
    queued = [Job.fetch(i, connection=connection) for i in Queue(QUEUE_NAME, connection=connection).get_job_ids()]
    assert sorted(job.kwargs["rule"] for job in queued) == ["default-interval", "weekday-mornings"]
    assert {job.func_name for job in queued} == {"integration.sweeps.jobs.start_sweep"}


def test_sweep_settings_are_validated_and_name_the_variable() -> None:
    settings = load_sweep_settings({"FLOWKEEPER_SWEEP_INTERVAL": "every 15 minutes",
                                    "FLOWKEEPER_BLAST_RADIUS_SHARE": "5%", "FLOWKEEPER_COMMANDS_FROM": "assignee,acc-1"})
    assert settings.default_schedule == timedelta(minutes=15) and settings.blast_share == 0.05
    assert settings.commands.assignee and settings.commands.people == frozenset({"acc-1"})
    assert load_sweep_settings({"FLOWKEEPER_SWEEP_INTERVAL": "*/10 * * * *"}).default_schedule == "*/10 * * * *"
    for name, value in (("FLOWKEEPER_SWEEP_INTERVAL", "sometimes"), ("FLOWKEEPER_BLAST_RADIUS_SHARE", "150%"),
                        ("FLOWKEEPER_SWEEP_WRITE_BUDGET", "many"), ("FLOWKEEPER_RECONCILE_INTERVAL", "often")):
        with pytest.raises(SettingsError, match=name):
            load_sweep_settings({name: value})


@pytest.fixture(params=["redis", "database"])
def leases(request: pytest.FixtureRequest, store: Store) -> Iterator[Leases]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield RedisLeases(redis_lib.Redis.from_url(url))
    else:
        yield DatabaseLeases(store.engine)


def test_one_holder_at_a_time_and_only_the_holder_extends_or_releases(leases: Leases) -> None:
    ttl = timedelta(seconds=30)
    assert leases.acquire("sweep:jira:stalled", "run-1", ttl)
    assert not leases.acquire("sweep:jira:stalled", "run-2", ttl)  # not stacked
    assert leases.holder("sweep:jira:stalled") == "run-1"
    assert not leases.extend("sweep:jira:stalled", "run-2", ttl)
    assert not leases.release("sweep:jira:stalled", "run-2")
    assert leases.extend("sweep:jira:stalled", "run-1", ttl)
    assert leases.acquire("sweep:linear:stalled", "run-3", ttl)  # another tracker's scope is independent
    assert leases.release("sweep:jira:stalled", "run-1")
    assert leases.holder("sweep:jira:stalled") is None
    assert leases.acquire("sweep:jira:stalled", "run-2", ttl)


def test_a_lapsed_lease_can_be_taken_and_the_old_holder_cannot_release_it(store: Store) -> None:
    now = [T]
    leases = DatabaseLeases(store.engine, clock=lambda: now[0])
    assert leases.acquire("sweep:jira:r", "dead-run", timedelta(seconds=60))
    now[0] = T + timedelta(seconds=61)  # its worker died: the lease lapsed
    assert not leases.extend("sweep:jira:r", "dead-run", timedelta(seconds=60))
    assert leases.acquire("sweep:jira:r", "new-run", timedelta(seconds=60))
    assert not leases.release("sweep:jira:r", "dead-run")
    assert leases.holder("sweep:jira:r") == "new-run"


def test_racing_processes_get_one_lease(leases: Leases) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def contend(n: int) -> None:
        barrier.wait()
        if leases.acquire("sweep:jira:race", f"run-{n}", timedelta(seconds=30)):
            winners.append(f"run-{n}")

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
