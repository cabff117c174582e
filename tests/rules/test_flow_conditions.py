"""age_percentile: an item's age against the team's cycle times, as the context hands them over."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.engine import evaluate
from rules.flow_conditions import uses_age_percentile
from rules.itemjson import context_from_dict
from rules.model import EvalContext, Status, StatusCategory
from rules.verdicts import explain
from tests.rules.helpers import NOW, item, load

RULES = """
version: 1
rules:
  - name: aging
    description: Flag work older than the team's 85th percentile cycle time.
    on: [schedule]
    when: { all: [ { age_percentile: { gte: 85 } } ] }
    then: [ { add_labels: [aging] } ]
"""
HISTORY = {"ENG": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0,
                   17.0, 18.0, 19.0, 20.0)}  # p85 (nearest rank) = 17 days


def _context(age_days: float, history: dict[str, tuple[float, ...]] = HISTORY) -> EvalContext:
    return EvalContext(started_at=NOW - timedelta(days=age_days), cycle_days_by_team=history)


@pytest.mark.parametrize(("age", "flagged"), [(16.9, False), (17.0, True), (25.0, True), (2.0, False)])
def test_flags_work_as_old_as_the_teams_85th_percentile(tmp_path: Path, age: float, flagged: bool) -> None:
    plan = evaluate(load(tmp_path, RULES), item(), None, NOW, _context(age))
    assert [a.rule for a in plan.actions] == (["aging"] if flagged else [])


def test_never_matches_without_enough_history_or_outside_progress(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    assert evaluate(rules, item(), None, NOW, _context(30, {"ENG": (1.0, 2.0, 3.0, 4.0)})).actions == ()
    assert evaluate(rules, item(team="OPS"), None, NOW, _context(30)).actions == ()
    waiting = item(status=Status("To Do", StatusCategory.TODO))
    assert evaluate(rules, waiting, None, NOW, _context(30)).actions == ()
    assert evaluate(rules, item(), None, NOW, EvalContext(cycle_days_by_team=HISTORY)).actions == ()


def test_explain_shows_the_age_as_a_percentile(tmp_path: Path) -> None:
    [verdict] = explain(load(tmp_path, RULES), item(), None, NOW, _context(12.5))
    leaf = verdict.trace.children[0]
    assert (leaf.actual, leaf.expected, leaf.ok) == ("age 12.5 d = p60 of 20 cycle times", "gte 85", False)
    [short] = explain(load(tmp_path, RULES), item(), None, NOW, _context(30, {"ENG": (1.0,)}))
    assert short.trace.children[0].actual == "1 finished item(s) in ENG's history, 5 needed"


def test_rule_tests_and_simulations_can_hand_over_the_history() -> None:
    ctx = context_from_dict({"started_at": "2026-03-01T12:00:00Z", "cycle_days_by_team": {"ENG": [3, 1, 2]}})
    assert ctx.cycle_days_by_team == {"ENG": (1.0, 2.0, 3.0)} and ctx.started_at is not None


def test_the_judge_can_tell_which_rules_need_the_history() -> None:
    assert uses_age_percentile({"all": [{"status.category": "in_progress"},
                                        {"not": {"age_percentile": {"lt": 50}}}]})
    assert not uses_age_percentile({"any": [{"assignee.wip": {"gt": 3}}]})
