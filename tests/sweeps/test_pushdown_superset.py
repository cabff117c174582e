"""A sweep never misses: pushdown + engine acts on exactly the items the engine alone would.

Generated rules (conditions that push down and ones that cannot, nested in all / any /
not, scoped by team or not) and generated items are judged twice: by the engine over every
item, and by the engine over only the items the tracker's own query language admits —
JQL and the IssueFilter read by the stub tracker's evaluators.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.stubtracker.issuefilter import matches
from integration.stubtracker.jql import compile_jql
from integration.stubtracker.site import Issue, jira_issue, linear_node
from integration.trackers.jira.jql import UnboundedQuery, to_jql
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.jira.normalize import normalize_issue as normalize_jira
from integration.trackers.linear.filter import to_filter
from integration.trackers.linear.item import LinearConfig
from integration.trackers.linear.item import normalize_issue as normalize_linear
from rules.compilectx import SlotTable
from rules.compiler import compile_rule
from rules.engine import evaluate
from rules.model import EvalContext, Item, StatusCategory, Tracker
from rules.ruleset import Rule, RuleSet
from tests.sweeps.world import World

NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)
STATUSES = {"To Do": "todo", "In Progress": "in_progress", "In Review": "in_progress", "Done": "done",
            "Won't Do": "canceled"}
LABELS = ["api", "API", "on-hold", "stale", "Stale", "ux"]
DAYS = st.integers(0, 40)
MILESTONES = ["v2.0", "V2.0", "Release 3", "release 3", "Beta"]
PARENTS = ["OPS-7", "ops-7", "ENG-2", "not a key"]
CYCLE_STATES = ["active", "Active", "upcoming", "completed", "running"]
PROJECT_STATES = ["planned", "Started", "paused", "completed", "canceled"]

leaf = st.one_of(
    st.sampled_from(list(StatusCategory)[:4]).map(lambda c: {"status.category": c.value}),
    st.lists(st.sampled_from(["todo", "in_progress", "done", "canceled"]), min_size=1, max_size=2, unique=True)
    .map(lambda cs: {"status.category": {"not_in": cs}}),
    st.sampled_from(["in review", "In Progress", "DONE"]).map(lambda n: {"status.name": n}),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=2).map(lambda ls: {"labels": {"none_of": ls}}),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=2).map(lambda ls: {"labels": {"any_of": ls}}),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=2).map(lambda ls: {"labels": {"all_of": ls}}),
    st.sampled_from(LABELS).map(lambda label: {"labels": label}),
    st.tuples(st.sampled_from(["older_than", "at_least", "newer_than"]), DAYS)
    .map(lambda t: {"updated": {t[0]: f"{t[1]} days"}}),
    st.tuples(st.sampled_from(["older_than", "at_least", "newer_than"]), DAYS)
    .map(lambda t: {"created": {t[0]: f"{t[1]} days"}}),
    st.tuples(st.sampled_from(["after", "before"]), st.integers(1, 28))
    .map(lambda t: {"created": {t[0]: f"2026-02-{t[1]:02d}"}}),
    DAYS.map(lambda d: {"last_activity": {"older_than": f"{d} days"}}),
    st.just({"title": {"matches": "^Fix"}}),
)
# planning fields: milestones (names with spaces, any case), parent, cycle and project state, sub-tasks
planning_leaf = st.one_of(
    st.tuples(st.sampled_from(["any_of", "all_of", "none_of", "contains"]),
              st.lists(st.sampled_from(MILESTONES), min_size=1, max_size=2))
    .map(lambda t: {"milestones": {t[0]: t[1]}}),
    st.sampled_from(MILESTONES).map(lambda m: {"milestones": m}),
    st.tuples(st.sampled_from(["missing", "present"]), st.booleans()).map(lambda t: {"milestones": {t[0]: t[1]}}),
    st.lists(st.sampled_from(PARENTS), min_size=1, max_size=2).map(lambda ps: {"parent": ps}),
    st.sampled_from(PARENTS).map(lambda p: {"parent": p}),
    st.tuples(st.sampled_from(["missing", "present"]), st.booleans()).map(lambda t: {"parent": {t[0]: t[1]}}),
    st.lists(st.sampled_from(CYCLE_STATES), min_size=1, max_size=2).map(lambda cs: {"sprint.state": cs}),
    st.sampled_from(CYCLE_STATES).map(lambda c: {"sprint.state": {"not_equals": c}}),
    st.lists(st.sampled_from(PROJECT_STATES), min_size=1, max_size=2).map(lambda ps: {"project.state": ps}),
    st.tuples(st.sampled_from(["gt", "lte"]), st.integers(0, 2)).map(lambda t: {"subtasks": {t[0]: t[1]}}),
    st.sampled_from(list(StatusCategory)[:4]).map(lambda c: {"status.category": c.value}),
)


def nested(leaves: Any) -> Any:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs}),
            st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs}),
            inner.map(lambda c: {"not": c}),
        ),
        max_leaves=5,
    )


conditions = nested(st.one_of(leaf, planning_leaf))
moments = DAYS.flatmap(lambda d: st.sampled_from([0, 1, 7, 13]).map(lambda h: NOW - timedelta(days=d, hours=h)))


@st.composite
def issues(draw: Any) -> Issue:
    status = draw(st.sampled_from(sorted(STATUSES)))
    updated = draw(moments)
    created = min(updated, draw(moments))
    return Issue(id=str(draw(st.integers(1, 10**6))), key="OPS-1", team=draw(st.sampled_from(["OPS", "ENG"])),
                     status=status, category=STATUSES[status], updated=updated, created=created,
                     title=draw(st.sampled_from(["Fix login", "Add export"])),
                     labels=draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True)),
                     milestones=draw(st.lists(st.sampled_from(["v2.0", "Release 3", "Beta", "GA"]), max_size=2,
                                              unique=True)),
                     parent=draw(st.sampled_from([None, "OPS-7", "ENG-2", "ENG-3"])),
                     cycle_state=draw(st.sampled_from([None, "active", "upcoming", "completed"])),
                     project_state=draw(st.sampled_from([None, "planned", "started", "paused", "completed"])),
                     subtasks=draw(st.integers(0, 3)))


def item_of(issue: Issue, tracker: Tracker, activity: datetime) -> Item:
    """The item as the tracker's own normalizer reads the fake's JSON for it."""
    if tracker is Tracker.JIRA:
        item = normalize_jira(jira_issue(issue, ""), JiraConfig())
    else:
        item = normalize_linear(linear_node(issue), LinearConfig())
    return item.with_fields(last_activity_at=activity)


def rule_of(when: dict[str, Any], teams: list[str]) -> Rule:
    raw = {"name": "r", "description": "generated", "on": "schedule", "when": when, "teams": teams,
           "then": [{"flag": {"label": "stale", "comment": "quiet"}}]}
    slots = SlotTable()
    return compile_rule(raw, {}, "generated.yml", 1, slots)


def acted(rule: Rule, item: Item) -> bool:
    plan = evaluate(RuleSet((rule,), rule.slots), item, None, NOW, EvalContext())
    return bool(plan.actions)


POPULATIONS = st.lists(st.tuples(issues(), moments), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.sampled_from([[], ["OPS"]]), POPULATIONS)
def test_pushdown_then_engine_equals_engine_alone(when: dict[str, Any], teams: list[str],
                                                  population: list[tuple[Issue, datetime]]) -> None:
    never_misses(when, teams, population)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(planning_leaf, min_size=1, max_size=3).map(lambda cs: {"all": cs}), nested(planning_leaf)),
       st.sampled_from([[], ["OPS"]]), POPULATIONS)
def test_planning_fields_pushdown_then_engine_equals_engine_alone(
        when: dict[str, Any], teams: list[str], population: list[tuple[Issue, datetime]]) -> None:
    never_misses(when, teams, population)


PLANNED = [Issue(id=str(n), key=f"OPS-{n}", team="OPS", status="In Progress", category="in_progress",
                     updated=NOW, created=NOW, milestones=ms, parent=parent, cycle_state=cycle, project_state=project,
                     subtasks=n % 3)
           for n, (ms, parent, cycle, project) in enumerate([
               ([], None, None, None), (["v2.0"], "OPS-7", "active", "started"),
               (["Release 3", "GA"], "ENG-2", "upcoming", "paused"), (["GA"], None, "completed", "completed"),
               (["v2.0", "Beta"], "ENG-3", None, "planned")], start=1)]


@pytest.mark.parametrize("when", [
    {"milestones": {"none_of": ["v2.0"]}}, {"milestones": {"any_of": ["V2.0", "release 3"]}},
    {"milestones": "release 3"}, {"milestones": {"all_of": ["GA", "Release 3"]}}, {"milestones": {"missing": True}},
    {"milestones": {"present": False}}, {"milestones": {"present": True}}, {"parent": "ops-7"},
    {"parent": ["ENG-2", "eng-3"]}, {"parent": {"missing": True}}, {"parent": {"present": True}},
    {"parent": "not a key"}, {"sprint.state": "Active"}, {"sprint.state": ["upcoming", "completed"]},
    {"sprint.state": {"not_equals": "active"}}, {"sprint.state": {"missing": True}},
    {"project.state": ["Started", "paused"]}, {"project.state": "completed"}, {"subtasks": {"gt": 1}},
], ids=str)
def test_each_planning_condition_admits_every_item_it_acts_on(when: dict[str, Any]) -> None:
    never_misses(when, ["OPS"], [(issue, NOW - timedelta(days=9)) for issue in PLANNED])


def never_misses(when: dict[str, Any], teams: list[str], population: list[tuple[Issue, datetime]]) -> None:
    """Every item the engine acts on is one the tracker's query admits."""
    rule = rule_of(when, teams)
    query = rule.pushdown(NOW)
    try:
        admitted_by_jira = compile_jql(to_jql(query))
    except UnboundedQuery:  # refused outright, never narrowed past a candidate
        admitted_by_jira = None
    linear_filter = to_filter(query)
    for issue, activity in population:
        for tracker, admitted in ((Tracker.JIRA, admitted_by_jira is None or admitted_by_jira(jira_issue(issue, ""))),
                                  (Tracker.LINEAR, matches(linear_node(issue), linear_filter))):
            item = item_of(issue, tracker, activity)
            if acted(rule, item):
                assert admitted, (tracker.value, query, issue)


def test_a_team_rule_on_activity_alone_searches_every_item_of_the_team() -> None:
    rule = rule_of({"last_activity": {"older_than": "5 days"}}, ["OPS"])
    quiet = Issue("1", "OPS-1", "OPS", "In Progress", "in_progress", NOW - timedelta(days=1),
                      NOW - timedelta(days=30))
    assert acted(rule, item_of(quiet, Tracker.JIRA, NOW - timedelta(days=9)))
    assert compile_jql(to_jql(rule.pushdown(NOW)))(jira_issue(quiet, ""))  # unflagged, yet a candidate
    assert matches(linear_node(quiet), to_filter(rule.pushdown(NOW)))


QUIET_IN_OPS = """
version: 1
rules:
  - name: quiet-ops
    description: Anything in OPS without human activity for 5 days.
    on: schedule
    teams: [OPS]
    when: { last_activity: { older_than: 5 days } }
    then:
      - flag: { label: stale, comment: "{{ key }} has been quiet." }
"""


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_sweep_of_a_team_rule_on_activity_alone_finds_unflagged_items(make_world: Callable[..., World],
                                                                         tracker: str) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    world = make_world(tracker, QUIET_IN_OPS, now=start)
    quiet = world.site.add(Issue(id="10001", key="OPS-1", team="OPS", status="In Progress",
                                     category="in_progress", updated=start, created=start))
    world.site.add(Issue(id="10002", key="ENG-2", team="ENG", status="In Progress", category="in_progress",
                             updated=start, created=start))
    world.at(start + timedelta(days=6))
    world.sweep("quiet-ops")
    assert quiet.labels == ["stale"]
    assert world.site.issues["ENG-2"].labels == []  # out of the rule's teams
