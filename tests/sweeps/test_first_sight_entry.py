"""An item a sweep sees for the first time: Jira's search does not say when it entered its status.
The sweep already reads the item's own record once (for the last person's activity); the same read
says when the status was entered, so a rule timing the status judges the item on that first sweep,
with no extra request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from integration.stubtracker.site import Issue as FakeIssue
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.test_bot_activity import record_reads
from tests.sweeps.test_lost_status_webhook import REVIEW_RULES
from tests.sweeps.world import World

MONTH_AGO = MONDAY - timedelta(days=30)
RECORD_READS = {"jira": 2, "linear": 1}  # Jira: changelog + comments; Linear: IssueActivity


def moved_to_review(world: World, since: timedelta) -> FakeIssue:
    issue = world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                                     updated=MONTH_AGO, created=MONTH_AGO, assignee=ADA, status_entered=MONTH_AGO))
    world.site.move("ENG-1", "In Review", "in_progress", ADA, at=MONDAY - since)
    return issue


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_item_in_review_for_days_is_flagged_on_its_first_sweep(make_world: Callable[..., World],
                                                                    tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    issue = moved_to_review(world, timedelta(days=5))

    run = world.sweep("stuck-in-review")

    assert run is not None and run.state == "done"
    assert "stuck-in-review" in issue.labels
    assert len(record_reads(world)) == RECORD_READS[tracker]  # the one first-sight read, nothing more
    stored = world.services.store.mirror.get(tracker, "1")
    assert stored is not None and stored.status_changed_at == MONDAY - timedelta(days=5)
    assert "status_changed_at" not in stored.unknown


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_item_in_review_for_an_hour_is_not_flagged_on_its_first_sweep(make_world: Callable[..., World],
                                                                         tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    issue = moved_to_review(world, timedelta(hours=1))

    run = world.sweep("stuck-in-review")

    assert run is not None and run.state == "done"
    assert "stuck-in-review" not in issue.labels
    assert len(record_reads(world)) == RECORD_READS[tracker]
    stored = world.services.store.mirror.get(tracker, "1")
    assert stored is not None and stored.status_changed_at == MONDAY - timedelta(hours=1)


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_item_unchanged_since_creation_is_timed_from_its_creation(make_world: Callable[..., World],
                                                                     tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    created = MONDAY - timedelta(days=5)
    issue = world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Review", category="in_progress",
                                     updated=created, created=created, assignee=ADA))

    world.sweep("stuck-in-review")

    assert "stuck-in-review" in issue.labels and record_reads(world) == []
