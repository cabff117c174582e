"""History clocks through real sweeps: actions/stale's close window counts from its own label."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integration.stubtracker.site import Issue
from tests.stub import ADA, GRACE
from tests.sweeps.world import World

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
STALE_THEN_CLOSE = """
version: 1
rules:
  - name: stale
    description: Quiet for 5 days gets the stale label.
    on: schedule
    when:
      all:
        - status.category: [todo, in_progress]
        - last_activity: { older_than: 5 days }
    then:
      - flag: { label: stale, comment: "{{ key }} is stale." }
  - name: close-stale
    description: Seven days after stale went on, say it will be closed.
    on: schedule
    when:
      all:
        - labels: stale
        - label_added: { label: stale, older_than: 7 days }
    then:
      - comment: "{{ key }} has been stale for a week: closing."
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_the_close_window_counts_from_when_flowkeeper_put_the_label_on(make_world: Callable[..., World],
                                                                       tracker: str) -> None:
    world = make_world(tracker, STALE_THEN_CLOSE, now=START)
    issue = world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress",
                                     category="in_progress", updated=START - timedelta(days=10),
                                     created=START - timedelta(days=10), assignee=ADA, reporter=GRACE))
    world.sweep("stale")
    assert issue.labels == ["stale"]
    world.at(START + timedelta(days=7))  # exactly 7 × 24 h after the label went on: not more than 7 days
    world.sweep("close-stale")
    assert not any("closing" in c.body for c in world.site.flowkeeper_comments("ENG-1"))
    world.at(START + timedelta(days=7, minutes=1))
    world.sweep("close-stale")
    assert sum("closing" in c.body for c in world.site.flowkeeper_comments("ENG-1")) == 1


FLAG = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 days without human activity is flagged.
    on: [schedule, updated]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 days }
    then:
      - flag: { label: stalled, comment: "{{ key }} has stalled." }
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_only_labels_flowkeeper_put_on_are_flowkeepers_to_remove(make_world: Callable[..., World],
                                                                   tracker: str) -> None:
    world = make_world(tracker, FLAG, now=START)
    old = START - timedelta(days=10)
    mine = world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress",
                                    category="in_progress", updated=old, created=old, assignee=ADA))
    theirs = world.site.add(Issue(id="10002", key="ENG-2", team="ENG", status="Done", category="done",
                                      updated=old, created=old, labels=["stalled"]))  # a person's own label
    world.sweep("stalled")
    assert mine.labels == ["stalled"] and theirs.labels == ["stalled"]
    for key in ("ENG-1", "ENG-2"):
        world.site.move(key, "Done", "done", ADA)  # the webhooks were lost
    world.later(hours=2)
    world.sweep("stalled")
    assert mine.labels == [] and theirs.labels == ["stalled"]



CHAINED = """
version: 1
rules:
  - name: stale
    description: Quiet for 5 days gets the stale label; a week after that, a warning.
    on: schedule
    when:
      all:
        - status.category: [todo, in_progress]
        - last_activity: { older_than: 5 days }
    then:
      - flag: { label: stale, comment: "{{ key }} is stale." }
    escalate:
      - after: 7 days
        from: previous_step
        then:
          - comment: "{{ key }} has been stale for a week: closing soon."
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_ladder_step_counts_from_when_the_previous_step_was_done(make_world: Callable[..., World],
                                                                   tracker: str) -> None:
    world = make_world(tracker, CHAINED, now=START)
    world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                             updated=START - timedelta(days=30), created=START - timedelta(days=30), assignee=ADA))
    world.sweep("stale")  # 30 quiet days: by the clock alone the warning would be due at once
    comments = [c.body for c in world.site.flowkeeper_comments("ENG-1")]
    assert len(comments) == 1 and "is stale" in comments[0]
    world.at(START + timedelta(days=7))  # exactly a week after the label went on
    world.sweep("stale")
    assert len(world.site.flowkeeper_comments("ENG-1")) == 1
    world.at(START + timedelta(days=7, minutes=1))
    world.sweep("stale")
    world.sweep("stale")
    assert sum("closing soon" in c.body for c in world.site.flowkeeper_comments("ENG-1")) == 1


ROLLED_UP = """
version: 1
rules:
  - name: abandoned
    description: Neither the item nor its sub-tasks had a person's activity for 10 days.
    on: schedule
    when:
      all:
        - status.category: in_progress
        - with_subtasks: { clock: last_activity, older_than: 10 days }
    then:
      - flag: { label: abandoned }
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_sub_tasks_activity_keeps_its_parent_from_being_flagged(make_world: Callable[..., World],
                                                                   tracker: str) -> None:
    world = make_world(tracker, ROLLED_UP, now=START)
    old = START - timedelta(days=30)
    parent = world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress",
                                      category="in_progress", updated=old, created=old, assignee=ADA))
    lonely = world.site.add(Issue(id="10002", key="ENG-2", team="ENG", status="In Progress",
                                      category="in_progress", updated=old, created=old, assignee=ADA))
    world.site.add(Issue(id="10003", key="ENG-3", team="ENG", status="In Progress", category="in_progress",
                             updated=old, created=old, assignee=GRACE, parent="ENG-1"))
    world.site.comment("ENG-3", GRACE, "Half done", at=START - timedelta(days=2))
    world.sweep("abandoned")  # the sweep mirrors the sub-task too; the parent's clock is its sub-task's
    assert lonely.labels == ["abandoned"] and parent.labels == []
    world.at(START + timedelta(days=8))  # exactly 10 × 24 h after the sub-task's comment
    world.sweep("abandoned")
    assert parent.labels == []
    world.at(START + timedelta(days=8, minutes=1))
    world.sweep("abandoned")
    assert parent.labels == ["abandoned"]  # 10 days and a minute since the sub-task's comment
