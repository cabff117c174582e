"""The whole flag lifecycle on both trackers: flag → reminder → escalation → activity clears → re-flag.

Sweeps run over the fake tracker (mocked HTTP), webhooks go through the real normalizers
and pipeline, and every assertion reads the tracker's state: what a person would see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from integration.stubtracker.site import Issue, IssueView
from tests.stub import ADA, BOT, GRACE
from tests.sweeps.world import World

TRACKERS = ["jira", "linear"]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def stalled_item(world: World, key: str = "ENG-1") -> IssueView:
    """In progress since Monday 2 March 09:00, untouched since; Flowkeeper has never seen it."""
    return world.site.add(Issue(id="10001", key=key, team="ENG", status="In Progress", category="in_progress",
                                    updated=world.clock.now, created=world.clock.now, assignee=ADA, reporter=GRACE))


def mentions_ada(body: str) -> bool:
    """A real mention of the assignee: Jira's ADF mention node, or Linear's profile link."""
    return body.startswith(("@Ada Lovelace", "https://linear.app/stub/profiles/ada"))


def bodies(world: World, key: str = "ENG-1") -> list[str]:
    return [c.body for c in world.site.flowkeeper_comments(key)]


@pytest.mark.parametrize("tracker", TRACKERS)
def test_flag_reminder_escalation_clear_and_reflag(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker)
    issue = stalled_item(world)

    world.at(at(3))  # Tuesday: 1 business day, not yet
    world.sweep("stalled-in-progress")
    assert bodies(world) == [] and issue.labels == []

    world.at(at(4))  # Wednesday: 2 business days → the first nudge, to the assignee
    world.sweep("stalled-in-progress")
    assert len(bodies(world)) == 1 and "Anything in the way?" in bodies(world)[0]
    assert mentions_ada(bodies(world)[0]) and issue.labels == []

    world.at(at(4, 13))  # the same sweep again acts once only
    world.sweep("stalled-in-progress")
    assert len(bodies(world)) == 1

    world.at(at(6, 13))  # Friday: 2 business days after the nudge → one reminder
    world.sweep("stalled-in-progress")
    assert len(bodies(world)) == 2 and "Anything in the way?" in bodies(world)[1]

    world.at(at(9))  # Monday: 5 business days → label `stalled`
    world.sweep("stalled-in-progress")
    assert issue.labels == ["stalled"] and "is stalled" in bodies(world)[-1]

    world.at(at(12))  # Thursday: 8 business days → `escalated`, the lead is told
    world.sweep("stalled-in-progress")
    assert issue.labels == ["stalled", "escalated"] and "escalating to the lead" in bodies(world)[-1]
    before = len(bodies(world))
    for hour in (14, 16):  # two more sweeps that day: the reminder due (every 2 business days) once
        world.at(at(12, hour))
        world.sweep("stalled-in-progress")
    assert len(bodies(world)) == before + 1
    assert sum("is stalled" in b for b in bodies(world)) == 1  # each step happens once
    assert issue.labels == ["stalled", "escalated"]
    comments_before = len(bodies(world))

    world.at(at(16, 10))  # Monday: a person comments → the webhook job takes the flags down
    outcome = world.commented("ENG-1", GRACE, "Unblocked, picking this up again.")
    assert issue.labels == [], outcome
    world.at(at(16, 12))
    world.sweep("stalled-in-progress")
    assert issue.labels == [] and len(bodies(world)) == comments_before

    world.at(at(18, 12))  # Wednesday: 2 business days after the comment → a new episode starts over
    world.sweep("stalled-in-progress")
    assert len(bodies(world)) == comments_before + 1 and "Anything in the way?" in bodies(world)[-1]
    assert issue.labels == []


@pytest.mark.parametrize("tracker", TRACKERS)
def test_bot_and_own_activity_do_not_count(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker)
    issue = stalled_item(world)
    world.at(at(9))
    world.sweep("stalled-in-progress")
    assert issue.labels == ["stalled"]

    world.later(hours=1)  # Flowkeeper's own label write comes back as a webhook: ignored
    assert "loop protection" in world.own_writes_echo("ENG-1", [])
    world.later(hours=1)  # a bot comments: not human activity, the flag stays
    world.commented("ENG-1", BOT, "Build #812 passed")
    assert issue.labels == ["stalled"]

    world.later(hours=1)  # the tracker's `updated` moved twice, but the clock did not
    world.sweep("stalled-in-progress")
    assert issue.labels == ["stalled"]

    world.later(hours=1)
    world.moved("ENG-1", "In Review", "in_progress", ADA)  # a person moves it: activity → cleared
    assert issue.labels == []


@pytest.mark.parametrize("tracker", TRACKERS)
def test_sweep_clears_a_flag_on_an_item_that_no_longer_matches(make_world: Callable[..., World],
                                                               tracker: str) -> None:
    world = make_world(tracker)
    issue = stalled_item(world)
    world.at(at(9))
    world.sweep("stalled-in-progress")
    assert issue.labels == ["stalled"]
    world.site.move("ENG-1", "Done", "done", ADA)  # the webhook for this was lost
    world.later(hours=2)
    run = world.sweep("stalled-in-progress")
    assert issue.labels == [], run
