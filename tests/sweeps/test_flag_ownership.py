"""Whose label is it, through sweeps and webhooks: a person taking Flowkeeper's flag off is
respected for the episode, and a label already on the item before Flowkeeper remembered putting it
there is never Flowkeeper's to add or to take off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from integration.stubtracker.site import Issue
from tests.stub import ADA
from tests.sweeps import deliveries
from tests.sweeps.world import World

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
WIP = """
version: 1
rules:
  - name: wip
    description: Work in progress carries the wip label.
    on: [schedule, updated]
    when:
      all:
        - status.category: in_progress
    then:
      - flag: { label: wip, comment: "{{ key }} is in progress." }
"""


def in_progress(labels: list[str] | None = None) -> Issue:
    return Issue(id="10001", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                 updated=START, created=START, labels=labels or [])


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_person_taking_the_flag_off_is_respected_for_the_episode(make_world: Callable[..., World],
                                                                  tracker: str) -> None:
    world = make_world(tracker, WIP, now=START)
    issue = world.site.add(in_progress())
    world.sweep("wip")
    assert issue.labels == ["wip"]
    world.later(hours=1)
    world.site.set_labels("ENG-1", [])  # a person takes the flag off; the rule still holds
    world.deliver(deliveries.labels_changed(world.site, "ENG-1", ["wip"], ADA))
    world.later(hours=1)
    world.sweep("wip")
    world.later(days=3)
    world.sweep("wip")
    assert issue.labels == [] and len(world.site.flowkeeper_comments("ENG-1")) == 1
    world.later(hours=1)
    world.moved("ENG-1", "Done", "done", ADA)  # the episode ends…
    world.later(hours=1)
    world.moved("ENG-1", "In Progress", "in_progress", ADA)  # …and a new one flags it again
    assert issue.labels == ["wip"] and len(world.site.flowkeeper_comments("ENG-1")) == 2


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_label_already_there_before_flowkeeper_remembered_it_is_left_alone(make_world: Callable[..., World],
                                                                           tracker: str) -> None:
    """Put on by hand, or by a deployment older than Flowkeeper's label memory: Flowkeeper neither
    adopts it when its rule holds nor takes it off when the rule stops holding."""
    world = make_world(tracker, WIP, now=START)
    issue = world.site.add(in_progress(["wip"]))
    world.sweep("wip")
    assert issue.labels == ["wip"] and len(world.site.flowkeeper_comments("ENG-1")) == 1  # said once
    mirror = world.services.store.mirror
    history = mirror.history(tracker, mirror.get_by_key(tracker, "ENG-1").id)  # type: ignore[union-attr]
    assert [h for h in history if h.field == "labels"] == []  # not remembered as Flowkeeper's
    world.later(hours=1)
    world.moved("ENG-1", "Done", "done", ADA)
    world.later(hours=1)
    world.sweep("wip")
    assert issue.labels == ["wip"]  # not Flowkeeper's to take off
