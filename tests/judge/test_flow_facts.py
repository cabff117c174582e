"""age_percentile through the one judge: the team's cycle times and each item's first start, from the mirror."""

from __future__ import annotations

from pathlib import Path

from integration.judge import Judge
from integration.settings import load_settings
from integration.store.store import Store
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from tests.reports.builder import Builder, day

AGING = """
version: 1
rules:
  - name: aging
    description: Flag work older than the team's 85th percentile cycle time.
    on: [updated, schedule]
    when: { all: [ { status.category: in_progress }, { age_percentile: { gte: 85 } } ] }
    then: [ { add_labels: [aging] } ]
"""
UNOWNED = """
version: 1
rules:
  - name: unowned
    description: Work in progress has an owner.
    on: [updated, schedule]
    when: { all: [ { status.category: in_progress }, { assignee: { missing: true } } ] }
    then: [ { add_labels: [unowned] } ]
"""
NOW_DAY = 60
NOW = day(NOW_DAY)


def _rules(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset([path])


def test_work_older_than_the_teams_85th_percentile_is_flagged(store: Store, db_url: str, tmp_path: Path) -> None:
    b = Builder(store)
    for n in range(1, 21):  # cycle times 1..20 days, finished in the last 90 days: p85 = 17 days
        b.item(f"ENG-{n}", 0, [(30, "In Progress"), (30 + n, "Done")])
    old = b.item("ENG-OLD", 0, [(NOW_DAY - 18, "In Progress"), (NOW_DAY - 16, "To Do"),
                                (NOW_DAY - 10, "In Review")])  # first start 18 days ago, moved back since
    young = b.item("ENG-NEW", 0, [(NOW_DAY - 5, "In Progress")])
    other = b.item("OPS-1", 0, [(NOW_DAY - 40, "In Progress")], team="OPS")  # OPS has no history
    judge = Judge.for_job(store, load_settings({"DATABASE_URL": db_url}), "jira", None, _rules(tmp_path, AGING))
    plans = judge.plans([old, young, other], None, NOW)
    assert [[a.rule for a in p.actions] for p in plans] == [["aging"], [], []]
    _, context = judge.contexts([old], NOW)[0]
    assert context.started_at == day(NOW_DAY - 18)
    assert context.cycle_days_by_team["ENG"] == tuple(float(n) for n in range(1, 21))


def test_the_history_is_read_only_when_a_rule_compares_ages(store: Store, db_url: str, tmp_path: Path) -> None:
    b = Builder(store)
    b.item("ENG-1", 0, [(30, "In Progress"), (31, "Done")])
    item = b.item("ENG-2", 0, [(50, "In Progress")])
    judge = Judge.for_job(store, load_settings({"DATABASE_URL": db_url}), "jira", None, _rules(tmp_path, UNOWNED))
    _, context = judge.contexts([item], NOW)[0]
    assert context.started_at is None and context.cycle_days_by_team == {}

