"""Linear's searches select sub-issues (`children`, about 30 complexity points an issue) only while
a loaded rule reads `subtasks` or rolls a clock up from sub-tasks; otherwise pages cost 40 % less."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from integration.stubtracker.site import Issue as FakeIssue
from integration.trackers.linear.complexity import estimate
from tests.stub import ADA
from tests.sweeps.conftest import MONDAY
from tests.sweeps.world import World

PARENTS = """
version: 1
rules:
  - name: idle-parents
    description: An idle item with sub-issues gets a label.
    on: [schedule]
    when:
      all:
        - status.category: in_progress
        - subtasks: { gt: 0 }
        - last_activity: { older_than: 2 business days }
    then:
      - flag: { label: idle-parent }
"""
ROLLED_UP = """
version: 1
rules:
  - name: idle-with-subtasks
    description: Idle, counting the sub-issues' activity too, gets a label.
    on: [schedule]
    when:
      all:
        - status.category: in_progress
        - with_subtasks: { clock: last_activity, older_than: 2 business days }
    then:
      - flag: { label: idle }
"""


def site(world: World) -> World:
    idle = MONDAY - timedelta(days=6)
    for n, children in ((1, 3), (2, 0)):
        world.site.add(FakeIssue(id=f"id-{n}", key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=idle, created=idle, assignee=ADA, subtasks=children))
    return world


def searches(world: World) -> list[dict[str, object]]:
    return [r["json"] for r in world.state.requests
            if r["path"] == "/graphql" and "issues(" in str((r["json"] or {}).get("query"))]


def test_no_rule_reads_sub_issues_so_the_search_does_not_select_them(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear"))  # the ladder rules: nothing about sub-issues
    world.sweep("stalled-in-progress")
    sent = searches(world)
    assert sent and all("children" not in str(body["query"]) for body in sent)  # type: ignore[index]
    mirrored = world.services.store.mirror.get("linear", "id-1")
    assert mirrored is not None and mirrored.subtasks is None and "subtasks" not in mirrored.unknown
    full = estimate(str(sent[0]["query"]).replace("...IssueFields", "...IssueFields ...IssueSubtasks")  # type: ignore[index]
                    + "\nfragment IssueSubtasks on Issue { children(first: 25) { nodes { id } } }",
                    {"first": 100})
    assert estimate(str(sent[0]["query"]), {"first": 100}) < 0.7 * full  # type: ignore[index]


def test_a_rule_on_sub_issues_makes_the_search_count_them(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear", rules=PARENTS))
    world.sweep("idle-parents")
    assert all("children(first: 25)" in str(body["query"]) for body in searches(world))  # type: ignore[index]
    assert world.site.issues["ENG-1"].labels == ["idle-parent"]  # three sub-issues, read by the search
    assert world.site.issues["ENG-2"].labels == []
    mirrored = world.services.store.mirror.get("linear", "id-1")
    assert mirrored is not None and mirrored.subtasks == 3


def test_a_clock_rolled_up_from_sub_tasks_makes_the_search_count_them(make_world: Callable[..., World]) -> None:
    world = site(make_world("linear", rules=ROLLED_UP))
    world.sweep("idle-with-subtasks")
    assert searches(world) and all("children(first: 25)" in str(b["query"]) for b in searches(world))  # type: ignore[index]


def test_a_comment_that_names_the_sub_issues_makes_the_search_count_them(make_world: Callable[..., World]) -> None:
    rules = ROLLED_UP.replace("with_subtasks: { clock: last_activity, older_than: 2 business days }",
                              "last_activity: { older_than: 2 business days }").replace(
        "flag: { label: idle }", 'comment: "{{ key }} has {{ subtasks }} sub-issues."')
    world = site(make_world("linear", rules=rules))
    world.sweep("idle-with-subtasks")
    assert all("children(first: 25)" in str(b["query"]) for b in searches(world))  # type: ignore[index]
    assert "has 3 sub-issues" in world.site.flowkeeper_comments("ENG-1")[0].body
