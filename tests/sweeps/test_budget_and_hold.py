"""On real Redis, through RQ jobs: the write budget and its resume order, and the blast-radius hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from rq import SimpleWorker

from integration.jobs import use_services
from integration.queue import QUEUE_NAME
from integration.services import utcnow
from integration.settings_sweeps import load_sweep_settings
from integration.store.audit import AuditFilter
from integration.stubtracker.site import Issue, IssueView
from integration.sweeps import held
from integration.sweeps.dispatch import RqDispatch
from tests.stub import ADA
from tests.sweeps.world import World

FLAG_RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 business days without human activity gets a label and a comment.
    on: [schedule, updated, comment_created]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 business days }
    then:
      - flag: { label: stalled, comment: "{{ assignee.mention }} {{ key }} has stalled." }
"""


@pytest.fixture
def sweep_variables() -> dict[str, str]:
    return {}


@pytest.fixture
def sweep_env(sweep_variables: dict[str, str]) -> Callable[..., None]:
    """Set FLOWKEEPER_* sweep variables for the world's settings (the workers use its services)."""
    return lambda **values: sweep_variables.update(values)


@pytest.fixture
def rq_world(make_world: Callable[..., World], redis_url: str,
             sweep_variables: dict[str, str]) -> Iterator[Callable[..., World]]:
    def make(tracker: str = "jira", rules: str = FLAG_RULES) -> World:
        world = make_world(tracker, rules=rules, now=utcnow(), redis_url=redis_url,
                           settings=load_sweep_settings(sweep_variables))
        use_services(world.services)
        return world
    yield make
    use_services(None)


def stalled(world: World, n: int, days_ago: int = 30, team: str = "ENG") -> IssueView:
    when = utcnow() - timedelta(days=days_ago) + timedelta(minutes=n)  # ENG-1 is the oldest: searched first
    return world.site.add(Issue(id=str(10000 + n), key=f"{team}-{n}", team=team, status="In Progress",
                                    category="in_progress", updated=when, created=when, assignee=ADA))


def sweep_via_rq(world: World, rule: str = "stalled") -> None:
    assert world.services.redis is not None
    RqDispatch(world.services.redis).start(rule, world.tracker, "manual", force=True)
    SimpleWorker([QUEUE_NAME], connection=world.services.redis).work(burst=True, logging_level="WARNING")


def flagged_keys(world: World) -> list[str]:
    return sorted((i.key for i in world.site.issues.values() if "stalled" in i.labels), key=lambda k: int(k[4:]))


def test_write_budget_defers_the_rest_and_the_next_run_does_it_first(rq_world: Callable[..., World],
                                                                      sweep_env: Callable[..., None]) -> None:
    sweep_env(FLOWKEEPER_SWEEP_WRITE_BUDGET="6")  # a flag is 2 writes: 3 items per run
    world = rq_world()
    for n in range(1, 11):
        stalled(world, n)

    sweep_via_rq(world)
    assert flagged_keys(world) == ["ENG-1", "ENG-2", "ENG-3"]
    assert world.site.writes == 6
    run = world.services.store.sweep_runs.recent(1)[0]
    assert run.state == "done" and run.stats["deferred_items"] == 7 and "7 items wait for the next run" in run.reason

    stalled(world, 11, days_ago=60)  # a new stalled item that search returns first
    sweep_via_rq(world)
    assert flagged_keys(world) == ["ENG-1", "ENG-2", "ENG-3", "ENG-4", "ENG-5", "ENG-6"]  # deferred work first

    sweep_via_rq(world)
    sweep_via_rq(world)
    assert flagged_keys(world) == [f"ENG-{n}" for n in range(1, 12)]
    assert world.site.writes == 22  # every item written exactly once: 11 labels, 11 comments
    assert all(len(world.site.flowkeeper_comments(f"ENG-{n}")) == 1 for n in range(1, 12))


def test_a_sweep_changing_too_much_is_held_and_approval_rechecks_each_item(rq_world: Callable[..., World],
                                                                           sweep_env: Callable[..., None]) -> None:
    sweep_env(FLOWKEEPER_BLAST_RADIUS_ITEMS="25", FLOWKEEPER_BLAST_RADIUS_SHARE="10%")
    world = rq_world()
    for n in range(1, 31):
        stalled(world, n)

    sweep_via_rq(world)
    assert world.site.writes == 0 and flagged_keys(world) == []
    [batch] = held.list_batches(world.services)
    assert batch.items == 30 and batch.rule == "stalled" and "limit of 25" in batch.reason
    assert len(held.writes_of(world.services, batch.id)) == 30
    audit = world.services.store.audit
    assert audit.count(AuditFilter(outcome="held", rule="stalled")) == 31  # 30 items and the sweep's summary

    sweep_via_rq(world)  # while the batch waits, the rule's sweeps pause instead of holding again
    assert len(held.list_batches(world.services)) == 1 and world.site.writes == 0

    world.site.move("ENG-7", "Done", "done", ADA)  # meanwhile someone finished one
    approval = held.approve(world.services, batch.id, by="ops@example.com")
    assert approval.applied == 29 and approval.unchanged == 1
    assert "ENG-7" not in flagged_keys(world) and len(flagged_keys(world)) == 29
    assert world.site.writes == 58
    assert held.list_batches(world.services) == []
    with pytest.raises(ValueError, match="not waiting"):
        held.approve(world.services, batch.id)

    sweep_via_rq(world)  # the next sweep finds everything already done
    assert world.site.writes == 58


def test_approval_can_be_handed_to_a_worker(rq_world: Callable[..., World], sweep_env: Callable[..., None]) -> None:
    sweep_env(FLOWKEEPER_BLAST_RADIUS_ITEMS="2", FLOWKEEPER_BLAST_RADIUS_SHARE="0")
    world = rq_world()
    for n in range(1, 5):
        stalled(world, n)
    sweep_via_rq(world)
    [batch] = held.list_batches(world.services)
    assert held.approve_in_background(world.services, batch.id, by="ops@example.com") is not None
    assert world.site.writes == 0  # nothing yet: a worker does it
    assert world.services.redis is not None
    SimpleWorker([QUEUE_NAME], connection=world.services.redis).work(burst=True, logging_level="WARNING")
    approved = held.list_batches(world.services, state="approved")
    assert world.site.writes == 8 and approved[0].decided_by == "ops@example.com"


def test_a_discarded_batch_writes_nothing(rq_world: Callable[..., World], sweep_env: Callable[..., None]) -> None:
    sweep_env(FLOWKEEPER_BLAST_RADIUS_ITEMS="5", FLOWKEEPER_BLAST_RADIUS_SHARE="0.1")
    world = rq_world()
    for n in range(1, 9):
        stalled(world, n)
    sweep_via_rq(world)
    [batch] = held.list_batches(world.services)
    assert held.discard(world.services, batch.id, by="ops@example.com") == 8
    assert world.site.writes == 0
    assert held.list_batches(world.services, state="discarded")[0].decided_by == "ops@example.com"
