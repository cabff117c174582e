"""A follow-up sweep reads the candidates it would now write to together, in one request, and asks
Jira for what changed with a bound relative to Jira's own clock (no fourteen-hour time-zone margin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from integration.settings_sweeps import SweepSettings
from integration.stubtracker.site import Issue as FakeIssue
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.world import World

SETTINGS = SweepSettings(page_size=50, write_budget=1000, blast_items=1000, blast_share=1.0)
IDLE, DUE = 10, 6


def site(world: World) -> World:
    """Ten items long idle, six that become due before Tuesday, and done work changed early on Monday."""
    for n in range(1, IDLE + DUE + 1):
        idle = MONDAY - timedelta(days=5) if n <= IDLE else MONDAY - timedelta(days=3, hours=9, minutes=15)
        world.site.add(FakeIssue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=idle, created=idle, assignee=ADA, status_entered=idle))
    for n in range(IDLE + DUE + 1, IDLE + DUE + 10):
        done = MONDAY - timedelta(hours=7)
        world.site.add(FakeIssue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status="Done", category="done",
                                 updated=done, created=done, assignee=ADA, status_entered=done))
    return world


def requests_during(world: World, run: Callable[[], object]) -> list[dict[str, Any]]:
    before = len(world.state.requests)
    run()
    return world.state.requests[before:]


def delete(world: World, key: str) -> None:
    if world.tracker == "jira":
        world.state.jira_issues.pop(key)
    else:
        world.state.linear_issues.pop(next(i for i, n in world.state.linear_issues.items() if n["identifier"] == key))
    world.state.changed()


def follow_up(world: World) -> list[dict[str, Any]]:
    """The first (full) sweep on Monday, a comment through the webhook, then Tuesday's follow-up."""
    world.sweep("stalled-in-progress")
    world.later(hours=14, minutes=50)
    world.commented("ENG-1", ADA, "On it tomorrow.")
    world.later(minutes=10)  # Tuesday 00:00: the six have been idle for more than two business days
    return requests_during(world, lambda: world.sweep("stalled-in-progress"))


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_newly_due_candidates_are_read_again_together_before_the_writes(make_world: Callable[..., World],
                                                                        tracker: str) -> None:
    world = site(make_world(tracker, settings=SETTINGS))
    world.site.keep_log = True
    gone = f"ENG-{IDLE + DUE}"
    world.sweep("stalled-in-progress")
    delete(world, gone)  # deleted in the tracker after the mirror saw it
    world.later(hours=14, minutes=50)
    world.commented("ENG-1", ADA, "On it tomorrow.")
    world.later(minutes=10)
    sent = requests_during(world, lambda: world.sweep("stalled-in-progress"))

    run = world.services.store.sweep_runs.recent(1)[0]
    assert run.query["changed_since"] is not None and int(run.stats["refetched"]) == DUE - 1
    assert int(run.stats["gone"]) == 1
    reads = [r for r in sent if r["method"] == "GET" or "bulkfetch" in r["path"]
             or (r["path"] == "/graphql" and "mutation" not in str((r["json"] or {}).get("query")))]
    per_item = [r for r in reads if r["path"].startswith("/rest/api/3/issue/ENG-")
                or (r["json"] or {}).get("operationName") == "GetIssue"
                or "query GetIssue" in str((r["json"] or {}).get("query"))]
    assert per_item == []  # not one read per candidate
    if tracker == "jira":
        batch = [r for r in reads if r["path"].endswith("/issue/bulkfetch")]
        assert len(batch) == 1
        assert sorted(batch[0]["json"]["issueIdsOrKeys"]) == sorted(f"ENG-{n}" for n in range(IDLE + 1, IDLE + DUE + 1))
    else:
        batch = [r for r in reads if (((r["json"] or {}).get("variables") or {}).get("filter") or {}).get("id")]
        assert len(batch) == 1
        assert len(batch[0]["json"]["variables"]["filter"]["id"]["in"]) == DUE
    for n in range(IDLE + 1, IDLE + DUE):  # each newly due item got its comment, once
        assert len(world.site.flowkeeper_comments(f"ENG-{n}")) == 1


def test_a_jira_follow_up_asks_for_what_changed_relative_to_jiras_clock(make_world: Callable[..., World]) -> None:
    world = site(make_world("jira", settings=SweepSettings(page_size=4, write_budget=1000, blast_items=1000,
                                                           blast_share=1.0)))
    world.site.keep_log = True
    sent = follow_up(world)

    searches = [r for r in sent if r["path"] == "/rest/api/3/search/jql"]
    assert len(searches) >= 3  # the pages of one search…
    # …each with the same JQL, so Jira's page token holds: since the first sweep began (15 h ago), with
    # 5 minutes before it, 5 for Jira's clock being ahead and 10 for the pages to be read
    assert {r["query"]["jql"].split("updated >= ")[1].split(" ORDER")[0] for r in searches} == {f'"-{15 * 60 + 20}m"'}
    run = world.services.store.sweep_runs.recent(1)[0]
    searched = int(run.candidates) - int(run.stats.get("from_mirror", 0))
    # what changed since the first sweep (its own writes to the ten), not the done work changed seven
    # hours before it, which a date widened by fourteen hours for time zones would read again
    assert searched == IDLE
