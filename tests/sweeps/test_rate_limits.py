"""Sweeps slow down when a tracker asks them to, instead of failing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from integration.store.audit import AuditFilter
from integration.stubtracker.state import Fault
from integration.sweeps.dispatch import run_inline
from tests.sweeps.world import World, add_stalled, stalled_rules

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULES = stalled_rules()



def sweep(world: World, sleeps: list[float], on_sleep: Callable[[], None] = lambda: None) -> str:
    sweeper = world.sweeper()
    started = sweeper.start("stalled", world.tracker, "manual", force=True)
    assert started.run_id is not None

    def sleep(seconds: float) -> None:  # time passes while the sweep waits
        sleeps.append(seconds)
        world.later(seconds=seconds)
        on_sleep()
    run_inline(sweeper, started.next, sleep=sleep)
    return started.run_id


def test_a_jira_429_during_search_waits_as_told_and_carries_on(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=NOW)
    add_stalled(world, 3)
    world.state.fault = Fault("429", count=1, retry_after=7, paths=("/rest/api/3/search",))
    sleeps: list[float] = []
    run = world.services.store.sweep_runs.get(sweep(world, sleeps))
    assert sleeps == [7.0]
    assert run.state == "done" and run.stats["slowed_down"] == 1
    assert all("stalled" in i.labels for i in world.site.issues.values())
    assert world.services.store.audit.count(AuditFilter(outcome="failed")) == 0


def test_linear_budget_nearly_spent_defers_writes_until_it_resets(make_world: Callable[..., World]) -> None:
    world = make_world("linear", rules=RULES, now=NOW)
    add_stalled(world, 3)
    world.state.linear_remaining, world.state.linear_reset_in_ms = 3, 20_000  # 3 requests left, reset in 20 s

    def reset() -> None:
        world.state.linear_remaining = 2400
    sleeps: list[float] = []
    run = world.services.store.sweep_runs.get(sweep(world, sleeps, on_sleep=reset))
    assert sleeps == [20.0]  # waited for the reset Linear announced
    assert run.state == "done" and run.stats["writes"] == 6
    assert all("stalled" in i.labels for i in world.site.issues.values())
    assert world.services.store.audit.count(AuditFilter(outcome="failed")) == 0


def _writes_to(key: str) -> tuple[str, ...]:
    return (f"/rest/api/3/issue/{key}",)


def test_one_write_failing_for_a_while_does_not_hold_the_rest_of_its_chunk(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=NOW)
    add_stalled(world, 3)
    world.state.fault = Fault("503", count=1, methods=frozenset({"PUT", "POST"}), paths=_writes_to("ENG-1"))
    labelled_when_waiting: list[set[str]] = []

    def note() -> None:
        labelled_when_waiting.append({k for k, i in world.site.issues.items() if "stalled" in i.labels})
    sleeps: list[float] = []
    run = world.services.store.sweep_runs.get(sweep(world, sleeps, on_sleep=note))
    assert labelled_when_waiting[0] == {"ENG-2", "ENG-3"}  # written before waiting to retry ENG-1
    assert len(sleeps) == 1 and 5.0 <= sleeps[0] <= 10.0  # the first backoff step, not a fixed 30 s
    assert run.state == "done" and run.stats["applied_items"] == 3
    assert all("stalled" in i.labels for i in world.site.issues.values())


def test_a_write_refused_by_a_long_retry_after_is_retried_when_the_tracker_said(
        make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=NOW, jira_holds_on_world_time=True)
    add_stalled(world, 2)
    world.state.fault = Fault("429", count=1, retry_after=90, methods=frozenset({"PUT"}), paths=_writes_to("ENG-1"))
    sleeps: list[float] = []
    run = world.services.store.sweep_runs.get(sweep(world, sleeps))
    assert sleeps == [90.0]
    assert run.state == "done" and run.stats["applied_items"] == 2
    assert all("stalled" in i.labels for i in world.site.issues.values())


def test_a_write_that_keeps_failing_waits_for_the_next_run_first_in_line(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=NOW)
    add_stalled(world, 2)
    world.state.fault = Fault("503", count=1000, methods=frozenset({"PUT", "POST"}), paths=_writes_to("ENG-1"))
    sleeps: list[float] = []
    run = world.services.store.sweep_runs.get(sweep(world, sleeps))
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]  # backing off, then given up for this run
    assert run.state == "done" and run.stats["deferred_items"] == 1
    assert [w.item_key for w in world.services.store.sweep_writes.pending("stalled")] == ["ENG-1"]
    assert "stalled" in world.site.issues["ENG-2"].labels
