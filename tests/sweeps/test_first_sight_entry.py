"""An item a sweep sees for the first time: Jira's search does not say when it entered its status.
The sweep already reads the item's own record once (for the last person's activity); the same read
says when the status was entered, so a rule timing the status judges the item on that first sweep,
with no extra request."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from integration.stubtracker.site import Issue as FakeIssue
from integration.stubtracker.state import Fault
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.test_lost_status_webhook import REVIEW_RULES
from tests.sweeps.world import World

MONTH_AGO = MONDAY - timedelta(days=30)


def history_reads(world: World) -> int:
    """Reads of an item's status history: Jira's changelog, Linear's IssueActivity (the first-sight
    read of the record and a separate status-history read each make one)."""
    return sum(1 for entry in world.site.state.requests
               if entry["path"].endswith("/changelog") or "IssueActivity" in json.dumps(entry.get("json") or {}))


def moved_to_review(world: World, since: timedelta) -> FakeIssue:
    issue = world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                                     updated=MONTH_AGO, created=MONTH_AGO, assignee=ADA, status_entered=MONTH_AGO))
    world.site.move("ENG-1", "In Review", "in_progress", ADA, at=MONDAY - since)
    return issue


@pytest.mark.parametrize("tracker", ["jira", "linear"])
@pytest.mark.parametrize(("since", "flagged"), [(timedelta(days=5), True), (timedelta(hours=1), False)],
                         ids=["in-review-for-days", "in-review-for-an-hour"])
def test_a_first_sweep_times_an_item_from_when_it_entered_its_status(make_world: Callable[..., World],
                                                                     tracker: str, since: timedelta,
                                                                     flagged: bool) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    issue = moved_to_review(world, since)

    run = world.sweep("stuck-in-review")

    assert run is not None and run.state == "done"
    assert ("stuck-in-review" in issue.labels) is flagged
    assert history_reads(world) == 1  # the one first-sight read of its record, nothing more
    stored = world.services.store.mirror.get(tracker, "1")
    assert stored is not None and stored.status_changed_at == MONDAY - since
    assert "status_changed_at" not in stored.unknown


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_item_unchanged_since_creation_is_timed_from_its_creation(make_world: Callable[..., World],
                                                                     tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    created = MONDAY - timedelta(days=5)
    issue = world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Review", category="in_progress",
                                     updated=created, created=created, assignee=ADA))

    world.sweep("stuck-in-review")

    assert "stuck-in-review" in issue.labels and history_reads(world) == 0


def test_an_item_whose_record_cannot_be_read_stays_untimed(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=REVIEW_RULES)
    issue = moved_to_review(world, timedelta(days=5))
    world.state.fault = Fault("500", count=50, paths=("/rest/api/3/issue/ENG-1/changelog",))

    world.sweep("stuck-in-review")

    assert "stuck-in-review" not in issue.labels  # never judged on a guessed entry time
    stored = world.services.store.mirror.get("jira", "1")
    assert stored is not None and "status_changed_at" in stored.unknown
