"""One job's dry-run decision: what writes, what is only recorded as "would do", and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.judge.dryrun import DryRun
from rules.loader import load_ruleset
from rules.model import Action, ActionKind
from rules.ruleset import Rule

RULES = """
version: 1
rules:
  - name: loud
    description: Writes when the deployment does.
    on: [updated]
    when: { status.category: in_progress }
    then:
      - add_labels: [loud]
  - name: quiet
    description: Its own file keeps it in dry run.
    dry_run: true
    on: [updated]
    when: { status.category: in_progress }
    then:
      - add_labels: [quiet]
"""


def act(rule: str, dry_run: bool = False) -> Action:
    return Action(ActionKind.ADD_LABELS, rule, "because", labels=("x",), dry_run=dry_run)


@pytest.fixture
def rules(tmp_path: Path) -> list[Rule]:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    return list(load_ruleset([path]).rules)


def test_a_live_deployment_writes_only_for_rules_not_in_dry_run(rules: list[Rule]) -> None:
    dry = DryRun.decide(requested=False, writable=True, rules=rules)
    assert not dry.action(act("loud")) and dry.mode("loud") == "live"
    assert dry.action(act("quiet")) and dry.why(act("quiet")) == "rule in dry run"
    assert dry.action(act("loud", dry_run=True)) and dry.why(act("loud", dry_run=True)) == "rule in dry run"
    assert dry.action(act("gone")), "a rule no longer in the set writes nothing"


def test_an_admin_override_wins_over_the_rule_file(rules: list[Rule]) -> None:
    dry = DryRun.decide(False, True, rules, {"quiet": {"dry_run": False}, "loud": {"dry_run": True}})
    assert not dry.rule("quiet") and dry.rule("loud")


@pytest.mark.parametrize(("requested", "writable", "why"), [
    (True, True, "dry run"),
    (True, False, "dry run"),
    (False, False, "dry run (no tracker credentials)"),
])
def test_a_dry_deployment_or_a_missing_client_holds_every_write(
    rules: list[Rule], requested: bool, writable: bool, why: str
) -> None:
    dry = DryRun.decide(requested, writable, rules)
    assert dry.everything
    assert all(dry.action(act(name)) and dry.mode(name) == "dry" for name in ("loud", "quiet"))
    assert dry.why(act("loud")) == why


def test_writes_of_no_rule_follow_only_the_deployment(rules: list[Rule]) -> None:
    assert not DryRun.ruleless(False, True).action(act("digest:weekly"))
    assert DryRun.ruleless(True, True).action(act("digest:weekly"))
    replying = DryRun.decide(False, True, rules).also_live("flowkeeper-command")
    assert not replying.action(act("flowkeeper-command")) and replying.rule("quiet")
    assert DryRun.decide(True, True, rules).also_live("flowkeeper-command").action(act("flowkeeper-command"))
