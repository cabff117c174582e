"""Follow-up sweeps: after a complete run, the tracker is asked only for what changed since;
flags already up are judged from the mirror (webhooks keep it fresh), and only an item a rule
would now write to is read again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from integration.settings_sweeps import SweepSettings
from integration.stubtracker.site import Issue as FakeIssue
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.world import World

SMALL_PAGES = SweepSettings(page_size=5, write_budget=1000, blast_items=1000, blast_share=1.0)


IDLE = 30


def site(world: World) -> World:
    """Thirty items long idle (the ladder's first step is due), one that will be by midnight, and done work."""
    for n in range(1, IDLE + 2):
        idle = MONDAY - timedelta(days=5) if n <= IDLE else MONDAY - timedelta(days=3, hours=9, minutes=15)
        world.site.add(FakeIssue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=idle, created=idle, assignee=ADA,
                                 status_entered=idle))
    for n in range(IDLE + 2, IDLE + 30):
        done = MONDAY - timedelta(days=n)
        world.site.add(FakeIssue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status="Done", category="done",
                                 updated=done, created=done, assignee=ADA, status_entered=done))
    return world


def reads_of(world: World, sweep: Callable[[], object]) -> tuple[int, int]:
    reads, writes = world.site.reads, world.site.writes
    sweep()
    return world.site.reads - reads, world.site.writes - writes


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_later_sweeps_read_what_changed_and_the_new_candidates_only(make_world: Callable[..., World],
                                                                    tracker: str) -> None:
    world = site(make_world(tracker, settings=SMALL_PAGES))
    runs = world.services.store.sweep_runs

    new = f"ENG-{IDLE + 1}"
    first_reads, first_writes = reads_of(world, lambda: world.sweep("stalled-in-progress"))  # Monday 09:00
    assert all(len(world.site.flowkeeper_comments(f"ENG-{n}")) == 1 for n in range(1, IDLE + 1))
    assert first_writes >= IDLE and first_reads >= 7  # thirty-one candidates in pages of five

    world.later(hours=14, minutes=30)  # 23:30: no webhook has come yet, so this one is a full sweep again
    world.sweep("stalled-in-progress")
    assert runs.recent(1)[0].query["changed_since"] is None
    world.later(minutes=20)
    world.commented("ENG-1", ADA, "On it tomorrow.")  # a person, through the webhook: the mirror is fresh
    world.later(minutes=10)  # Tuesday 00:00: the new item has been idle for more than two business days

    reads, writes = reads_of(world, lambda: world.sweep("stalled-in-progress"))
    last = runs.recent(1)[0]
    assert last.state == "done" and last.query["changed_since"] is not None
    assert int(last.stats["from_mirror"]) >= IDLE - 1  # the flagged ones nobody touched: judged, not read
    assert int(last.stats["refetched"]) == 1  # the one new candidate, read before writing to it
    assert len(world.site.flowkeeper_comments(new)) == 1
    assert all(len(world.site.flowkeeper_comments(f"ENG-{n}")) == 1 for n in range(1, IDLE + 1))  # nothing twice
    assert writes == first_writes // IDLE  # one item's writes
    # one search page of what changed (ENG-1) and the new candidate, not the seven pages of a full sweep
    assert reads <= 3, world.site.log[-10:]


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_no_webhooks_or_a_day_old_full_sweep_means_a_full_sweep(make_world: Callable[..., World],
                                                                     tracker: str) -> None:
    world = site(make_world(tracker, settings=SMALL_PAGES))
    runs = world.services.store.sweep_runs
    world.sweep("stalled-in-progress")
    assert runs.recent(1)[0].query["changed_since"] is None  # nothing before it: full
    world.later(minutes=15)
    world.sweep("stalled-in-progress")
    assert runs.recent(1)[0].query["changed_since"] is None  # no webhook yet: the mirror may be stale
    world.commented(f"ENG-{IDLE + 5}", ADA, "Shipped.")
    world.later(minutes=15)
    world.sweep("stalled-in-progress")
    assert runs.recent(1)[0].query["changed_since"] is not None
    world.later(hours=23)
    world.commented(f"ENG-{IDLE + 6}", ADA, "Shipped too.")
    world.later(hours=1, minutes=1)
    world.sweep("stalled-in-progress")  # webhooks flow, but the last full sweep is more than a day old
    assert runs.recent(1)[0].query["changed_since"] is None
