"""A status change whose webhook never arrived: the sweep's search shows the new status but not when
it was entered, and the mirror's entry time belongs to the previous status. A rule timing the new
status must not measure it from there; the sweep reads when it was entered and stores that."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from integration.stubtracker.site import Issue as FakeIssue
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.world import World

REVIEW_RULES = """
version: 1
rules:
  - name: stuck-in-review
    description: In review for more than 3 days gets a label.
    on: [schedule]
    when:
      all:
        - status.name: In Review
        - status_entered: { older_than: 3 days }
    then:
      - flag: { label: stuck-in-review, comment: "{{ key }} has been in review for a while." }
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_status_moved_without_a_webhook_is_timed_from_its_own_entry(make_world: Callable[..., World],
                                                                       tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    month_ago = MONDAY - timedelta(days=30)
    world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                             updated=month_ago, created=month_ago, assignee=ADA, status_entered=month_ago))
    read = world.services.clients[tracker].get_item("ENG-1")  # the mirror learns "In Progress", a month old
    world.services.store.mirror.upsert(read, world.clock())
    mirrored = world.services.store.mirror.get(tracker, "1")
    assert mirrored is not None and mirrored.status_changed_at == month_ago

    world.later(hours=1)
    world.site.move("ENG-1", "In Review", "in_progress", ADA, at=MONDAY)  # its webhook is lost
    world.later(hours=1)
    run = world.sweep("stuck-in-review")

    assert run is not None and run.state == "done"
    assert "stuck-in-review" not in world.site.issues["ENG-1"].labels
    stored = world.services.store.mirror.get(tracker, "1")
    assert stored is not None
    assert stored.status.name == "In Review"
    assert stored.status_changed_at == MONDAY and "status_changed_at" not in stored.unknown


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_status_moved_without_a_webhook_long_ago_is_still_flagged(make_world: Callable[..., World],
                                                                    tracker: str) -> None:
    world = make_world(tracker, rules=REVIEW_RULES)
    month_ago = MONDAY - timedelta(days=30)
    world.site.add(FakeIssue(id="1", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                             updated=month_ago, created=month_ago, assignee=ADA, status_entered=month_ago))
    world.services.store.mirror.upsert(world.services.clients[tracker].get_item("ENG-1"), month_ago)
    world.site.move("ENG-1", "In Review", "in_progress", ADA, at=MONDAY - timedelta(days=5))  # webhook lost

    run = world.sweep("stuck-in-review")

    assert run is not None and run.state == "done"
    assert "stuck-in-review" in world.site.issues["ENG-1"].labels
    stored = world.services.store.mirror.get(tracker, "1")
    assert stored is not None and stored.status_changed_at == MONDAY - timedelta(days=5)
