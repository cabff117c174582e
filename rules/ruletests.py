"""Run the `tests:` a rule file carries, like unit tests: an item, an event, expected actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rules.engine import evaluate
from rules.errors import did_you_mean
from rules.itemjson import ItemJsonError, context_from_dict, event_from_dict, item_from_dict, parse_time
from rules.model import Action
from rules.ruleset import RuleSet, RuleTest


@dataclass(frozen=True)
class TestResult:
    test: RuleTest
    passed: bool
    detail: str = ""

    @property
    def title(self) -> str:
        return f"{self.test.file}:{self.test.line}: {self.test.spec.get('name', '?')}"


def run_tests(ruleset: RuleSet) -> list[TestResult]:
    return [run_test(ruleset, test) for test in ruleset.tests]


def run_test(ruleset: RuleSet, test: RuleTest) -> TestResult:
    spec = test.spec
    try:
        now = parse_time(spec.get("now")) or datetime.now(UTC)
        item = item_from_dict(spec["item"])
        event = event_from_dict(spec["event"], item, now) if spec.get("event") else None
        context = context_from_dict(spec.get("context"))
    except ItemJsonError as exc:
        return TestResult(test, False, f"bad test input: {exc}")
    names = [r.name for r in ruleset.rules]
    scope = set(spec.get("rules") or [r.name for r in ruleset.rules if r.source == test.file])
    named = [(where, n) for where, n in [("rules", n) for n in sorted(scope)]
             + [("expect", w.get("rule")) for w in spec.get("expect") or ()] if n not in names]
    if named:
        where, name = named[0]
        return TestResult(test, False, f"unknown rule '{name}' in {where}{did_you_mean(str(name), names)}")
    plan = evaluate(ruleset, item, event, now, context)
    actual = [a for a in plan.actions if a.rule in scope]
    problem = _compare(spec.get("expect") or [], actual)
    if problem is None:
        return TestResult(test, True)
    reasons = [f"{n.rule}: {n.reason}" for n in plan.no_actions if n.rule in scope]
    return TestResult(test, False, problem + ("\n    no action: " + "\n    no action: ".join(reasons)
                                              if reasons else ""))


def _matches(want: dict[str, Any], action: Action) -> bool:
    if want["rule"] != action.rule or want["kind"] != action.kind.value:
        return False
    if "labels" in want and list(want["labels"]) != list(action.labels):
        return False
    if "step" in want and str(want["step"]) != action.step:
        return False
    if "dry_run" in want and bool(want["dry_run"]) != action.dry_run:
        return False
    if "to" in want and str(want["to"]).casefold() not in _destinations(action):
        return False
    body = action.comment.plain if action.comment else ""
    return "comment_contains" not in want or want["comment_contains"] in body


def _destinations(action: Action) -> set[str]:
    """What `to:` in an expectation may name: a transition's category or status, an assignee's id/email/name."""
    target, person = action.transition, action.assignee
    if target is not None:
        return {x.casefold() for x in (target.status, target.category.value if target.category else None) if x}
    return {x.casefold() for x in (person.id, person.email, person.name) if x} if person is not None else set()


def _compare(expected: list[dict[str, Any]], actual: list[Action]) -> str | None:
    left = list(actual)
    for want in expected:
        hit = next((a for a in left if _matches(want, a)), None)
        if hit is None:
            return f"expected {want}, got {_show(actual)}"
        left.remove(hit)
    if left:
        return f"unexpected {_show(left)}"
    return None


def _show(actions: list[Action]) -> str:
    if not actions:
        return "no actions"
    return "; ".join(f"{a.rule} {a.kind.value} {list(a.labels) if a.labels else a.detail!r}" for a in actions)
