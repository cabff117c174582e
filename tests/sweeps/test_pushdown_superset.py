"""A sweep never misses: pushdown + engine acts on exactly the items the engine alone would.

Generated rules (conditions that push down and ones that cannot, nested in all / any /
not, scoped by team or not) and generated items are judged twice: by the engine over every
item, and by the engine over only the items the tracker's own query language admits —
JQL read by the fake Jira's evaluator, the IssueFilter by the fake Linear's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.trackers.jira.jql import UnboundedQuery, to_jql
from integration.trackers.linear.filter import to_filter
from rules.compilectx import SlotTable
from rules.compiler import compile_rule
from rules.engine import evaluate
from rules.model import EvalContext, Item, Status, StatusCategory, Tracker
from rules.ruleset import Rule, RuleSet
from tests.sweeps.fake_jira import Jql
from tests.sweeps.fake_linear import matches
from tests.sweeps.fakesite import FakeIssue
from tests.sweeps.world import World

NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)
STATUSES = {"To Do": "todo", "In Progress": "in_progress", "In Review": "in_progress", "Done": "done",
            "Won't Do": "canceled"}
LABELS = ["api", "API", "on-hold", "stale", "Stale", "ux"]
DAYS = st.integers(0, 40)

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
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=5,
)
moments = DAYS.flatmap(lambda d: st.sampled_from([0, 1, 7, 13]).map(lambda h: NOW - timedelta(days=d, hours=h)))


@st.composite
def issues(draw: Any) -> FakeIssue:
    status = draw(st.sampled_from(sorted(STATUSES)))
    updated = draw(moments)
    created = min(updated, draw(moments))
    return FakeIssue(id=str(draw(st.integers(1, 10**6))), key="OPS-1", team=draw(st.sampled_from(["OPS", "ENG"])),
                     status=status, category=STATUSES[status], updated=updated, created=created,
                     title=draw(st.sampled_from(["Fix login", "Add export"])),
                     labels=draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True)))


def item_of(issue: FakeIssue, tracker: Tracker, activity: datetime) -> Item:
    return Item(tracker, issue.id, issue.key, title=issue.title, team=issue.team,
                status=Status(issue.status, StatusCategory(issue.category)), labels=tuple(issue.labels),
                created_at=issue.created, updated_at=issue.updated, last_activity_at=activity)


def rule_of(when: dict[str, Any], teams: list[str]) -> Rule:
    raw = {"name": "r", "description": "generated", "on": "schedule", "when": when, "teams": teams,
           "then": [{"flag": {"label": "stale", "comment": "quiet"}}]}
    slots = SlotTable()
    return compile_rule(raw, {}, "generated.yml", 1, slots)


def acted(rule: Rule, item: Item) -> bool:
    plan = evaluate(RuleSet((rule,), rule.slots), item, None, NOW, EvalContext())
    return bool(plan.actions)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.sampled_from([[], ["OPS"]]), st.lists(st.tuples(issues(), moments), min_size=1, max_size=6))
def test_pushdown_then_engine_equals_engine_alone(when: dict[str, Any], teams: list[str],
                                                  population: list[tuple[FakeIssue, datetime]]) -> None:
    rule = rule_of(when, teams)
    query = rule.pushdown(NOW)
    try:
        admitted_by_jira = Jql(to_jql(query)).parse()
    except UnboundedQuery:  # refused outright, never narrowed past a candidate
        admitted_by_jira = None
    linear_filter = to_filter(query)
    for issue, activity in population:
        for tracker, admitted in ((Tracker.JIRA, admitted_by_jira is None or admitted_by_jira(issue)),
                                  (Tracker.LINEAR, matches(issue, linear_filter))):
            item = item_of(issue, tracker, activity)
            if acted(rule, item):
                assert admitted, (tracker.value, query, issue)


def test_a_team_rule_on_activity_alone_searches_every_item_of_the_team() -> None:
    rule = rule_of({"last_activity": {"older_than": "5 days"}}, ["OPS"])
    quiet = FakeIssue("1", "OPS-1", "OPS", "In Progress", "in_progress", NOW - timedelta(days=1),
                      NOW - timedelta(days=30))
    assert acted(rule, item_of(quiet, Tracker.JIRA, NOW - timedelta(days=9)))
    assert Jql(to_jql(rule.pushdown(NOW))).parse()(quiet)  # unflagged, yet a candidate
    assert matches(quiet, to_filter(rule.pushdown(NOW)))


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
    quiet = world.site.add(FakeIssue(id="10001", key="OPS-1", team="OPS", status="In Progress",
                                     category="in_progress", updated=start, created=start))
    world.site.add(FakeIssue(id="10002", key="ENG-2", team="ENG", status="In Progress", category="in_progress",
                             updated=start, created=start))
    world.at(start + timedelta(days=6))
    world.sweep("quiet-ops")
    assert quiet.labels == ["stale"]
    assert world.site.issues["ENG-2"].labels == []  # out of the rule's teams
