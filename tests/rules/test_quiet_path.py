"""The engine's quiet path (gate verdicts, one fused check, verdicts worked out when read)
decides exactly what judging every rule in turn decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import engine
from rules.compilectx import SlotTable
from rules.compiler import compile_rule
from rules.engine import evaluate
from rules.model import EvalContext, Event, EventKind, Item, RuleState, Tracker
from rules.ruleset import RuleSet
from rules.triggers import trigger_of
from tests.rules.test_compiled import CONDITIONS, NOW, items

TRIGGER_SETS = [["schedule"], ["updated"], ["comment_created"], ["schedule", "updated"], ["created", "schedule"]]
CATEGORY_GATES = [None, "in_progress", ["todo", "in_progress"], "done"]


def _raw(n: int, condition: dict[str, Any]) -> dict[str, Any]:
    """Rule n of the pool: its condition, triggers, scope, category gate and exemptions vary with n."""
    gate = CATEGORY_GATES[n % len(CATEGORY_GATES)]
    when = condition if gate is None else {"all": [{"status.category": gate}, condition]}
    raw: dict[str, Any] = {
        "name": f"r{n}", "description": "test rule", "on": TRIGGER_SETS[n % len(TRIGGER_SETS)], "when": when,
        "then": [{"flag": {"label": f"f{n}", "comment": "see {{ key }}"}}] if n % 3 else [{"add_labels": ["hit"]}],
    }
    if n % 7 == 3:
        raw["teams"] = ["ENG"]
    if n % 5 == 4:
        raw["trackers"] = ["linear"]
    if n % 11 == 5:
        raw["enabled"] = False
    if n % 6 == 1:
        raw["exempt"] = {"labels": ["api"]}
    if n % 4 == 2:
        raw["escalate"] = [{"after": "3 days", "then": [{"add_labels": [f"late{n}"]}]}]
    return raw


SLOTS = SlotTable()
POOL = [compile_rule(_raw(n, c), {}, "pool.yml", n, SLOTS) for n, c in enumerate(CONDITIONS)]

rule_sets = st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=6, unique=True)
scoped = st.builds(
    lambda item, tracker, team, flags: item.with_fields(tracker=tracker, team=team, labels=item.labels + flags),
    items, st.sampled_from(list(Tracker)), st.sampled_from([None, "ENG", "OPS"]),
    st.lists(st.sampled_from(["f1", "F2", "f4", "f5"]), max_size=2, unique=True).map(tuple))
events = st.sampled_from([None, EventKind.UPDATED, EventKind.COMMENT_CREATED, EventKind.CREATED, EventKind.SCHEDULE])


def _context(names: list[str], kind: int) -> EvalContext:
    """Plain, with an episode open (or closed) on one rule, snoozed, or with flags known as ours."""
    if kind == 1:
        return EvalContext(rule_states={names[0]: RuleState(names[0], 1, True, NOW - timedelta(days=9))})
    if kind == 2:
        return EvalContext(rule_states={names[-1]: RuleState(names[-1], 2, False)})
    if kind == 3:
        return EvalContext(snoozed_until=NOW + timedelta(days=1))
    if kind == 4:
        return EvalContext(own_labels=frozenset({"f1"}))
    return EvalContext()


@settings(max_examples=400, deadline=None)
@given(rule_sets, scoped, events, st.integers(0, 4))
def test_the_quiet_path_decides_as_every_rule_in_turn(chosen: list[int], item: Item, kind: EventKind | None,
                                                      context_kind: int) -> None:
    ruleset = RuleSet(tuple(POOL[n] for n in chosen), SLOTS)
    context = _context([r.name for r in ruleset.rules], context_kind)
    event = None if kind is None else Event(item.tracker, kind, item, NOW)
    plan = evaluate(ruleset, item, event, NOW, context)
    folded = frozenset(x.casefold() for x in item.labels)
    reference = engine._decide(ruleset, item, event, NOW, context, trigger_of(event), folded, ruleset.rules, [])
    assert plan.actions == reference.actions
    assert plan.transitions == reference.transitions
    verdicts = [(n.rule, n.reason) for n in plan.no_actions]  # lazy ones are worked out here
    assert sorted(r for r, _ in verdicts) == sorted(n.rule for n in reference.no_actions)
    assert len(plan.no_actions) == len(verdicts) and list(plan.no_actions[:2]) == list(plan.no_actions)[:2]
