"""A Linear comment is judged on the mirror's copy of its issue while Linear gave that copy less than
15 minutes ago; otherwise, and whenever the copy is incomplete or disagrees with the delivery, the
issue is read back from Linear as before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from integration.stubtracker.site import Issue as FakeIssue
from tests.stub import ADA
from tests.sweeps import deliveries
from tests.sweeps.conftest import MONDAY
from tests.sweeps.world import World


def site(world: World) -> World:
    busy = MONDAY - timedelta(hours=3)
    for n in (1, 2):
        world.site.add(FakeIssue(id=f"id-{n}", key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=busy, created=busy, assignee=ADA))
    return world


def reads_for(world: World, deliver: Callable[[], object]) -> int:
    """How many times the delivery read its issue back from Linear."""
    before = len(world.state.requests)
    deliver()
    return sum(1 for r in world.state.requests[before:] if "query GetIssue" in str((r["json"] or {}).get("query")))


def comments_seen(world: World, key: str) -> int:
    item = world.services.store.mirror.get_by_key("linear", key)
    assert item is not None
    return sum(1 for e in world.services.store.mirror.history("linear", item.id) if e.field == "comment")


def test_a_comment_soon_after_linear_gave_the_issue_is_judged_from_the_mirror(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear"))
    world.sweep("stalled-in-progress")  # the search leaves the relations unknown: the copy is incomplete
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "Looking.")) == 1
    world.later(minutes=5)
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "Still looking.")) == 0
    world.later(minutes=9)
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "Found it.")) == 0
    assert comments_seen(world, "ENG-1") == 3  # each comment still counts as a person's activity
    world.later(minutes=2)  # 16 minutes after Linear last gave the issue: judging from the copy renewed nothing
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "Fixed.")) == 1


def test_an_issue_the_mirror_does_not_hold_or_holds_otherwise_is_read(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear"))
    assert reads_for(world, lambda: world.commented("ENG-2", ADA, "First sight.")) == 1  # never seen
    world.later(minutes=1)
    world.site.payload("ENG-2")["title"] = "Renamed"  # its Issue delivery has not come (late, or lost)
    assert reads_for(world, lambda: world.commented("ENG-2", ADA, "Renamed?")) == 1  # the titles differ
    mirrored = world.services.store.mirror.get_by_key("linear", "ENG-2")
    assert mirrored is not None and mirrored.title == "Renamed"


def test_a_status_change_is_read_back_and_the_comment_after_it_is_not(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear"))
    assert reads_for(world, lambda: world.moved("ENG-1", "In Review", "in_progress", ADA)) == 1
    world.later(minutes=2)
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "Ready for review.")) == 0
    mirrored = world.services.store.mirror.get_by_key("linear", "ENG-1")
    assert mirrored is not None and mirrored.status.name == "In Review"


def test_a_comment_naming_the_issue_by_another_key_is_read(make_world: Callable[..., World]) -> None:
    """The issue moved to another team (its key with it) and that Issue delivery has not come: the
    comment's URL names the new key, so the copy of the old team's issue does not stand for it."""
    world = site(make_world("linear"))
    assert reads_for(world, lambda: world.commented("ENG-1", ADA, "First.")) == 1
    world.later(minutes=1)
    node = world.site.payload("ENG-1")
    node.update(identifier="OPS-7", team={"id": "team-OPS", "key": "OPS"},
                url="https://linear.app/stub/issue/OPS-7/x")
    delivery = deliveries.commented(world.site, "OPS-7", ADA, "Moved?")
    delivery["url"] = f"https://linear.app/stub/issue/OPS-7#comment-{delivery['data']['id']}"  # as Linear sends it
    assert reads_for(world, lambda: world.deliver(delivery)) == 1
    mirrored = world.services.store.mirror.get("linear", node["id"])
    assert mirrored is not None and (mirrored.key, mirrored.team) == ("OPS-7", "OPS")
