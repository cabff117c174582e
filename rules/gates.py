"""Gates: what a kind of item can meet, worked out once per (event kind, category, tracker, team).

For an item with no open episode and none of the rules' flags, most verdicts follow from
the gate alone (the rule does not listen to this event, or wants another status category)
and are shared between items. The rules left over may act; their conditions are fused into
one generated function, so an item none of them holds for costs one call, and the engine's
quiet path builds nothing but the item's Plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules.codegen import compile_code, expression
from rules.model import Event, Item, NoAction, Tracker
from rules.registry import Frame
from rules.ruleset import Rule, RuleSet

Quiet = Callable[[Item, Event | None, Frame], bool]
MAX_GATES = 4096  # distinct (kind, category, tracker, team) keys remembered per rule set
MAX_FUSED = 64  # conditions fused into one function; more are checked one by one


@dataclass(frozen=True, slots=True)
class Gate:
    """The rules of a set as items behind one gate see them."""

    ruleset: RuleSet
    kind: str  # the event kind (trigger) this gate is for
    static: tuple[NoAction, ...]  # shared verdicts of the rules the gate decides alone
    rules: tuple[Rule, ...]  # the rules that must look at the item itself, in the set's order
    # True when no rule of `rules` can act on an item with no episode and no flag of ours:
    # each is disabled, out of scope, or its condition does not hold
    quiet: Quiet


def gate(ruleset: RuleSet, kind: str, category: Any, tracker: Tracker, team: str | None) -> Gate:
    """The gate for items of `category` in `tracker`'s `team` on an event of `kind`; remembered."""
    key = (kind, category, tracker, team)
    found: Gate | None = ruleset.gates.get(key)
    if found is not None:
        return found
    static, rules, acting = [], [], []
    for rule in ruleset.rules:
        in_scope = rule.enabled and tracker in rule.trackers and (not rule.teams or team in rule.teams)
        if in_scope and kind not in rule.trigger_set:
            static.append(rule.trigger_verdicts[kind])
        elif in_scope and rule.category_gate is not None and category not in rule.category_gate:
            static.append(rule.gate_verdicts[category])
        else:
            rules.append(rule)
            if in_scope:
                acting.append(rule)
    made = Gate(ruleset, kind, tuple(static), tuple(rules), _quiet(ruleset, tuple(acting)))
    if len(ruleset.gates) < MAX_GATES:
        ruleset.gates[key] = made
    return made


def _quiet(ruleset: RuleSet, acting: tuple[Rule, ...]) -> Quiet:
    """One function: none of `acting`'s conditions holds. Gates with the same rules share it."""
    found: Quiet | None = ruleset.quiet.get(acting)
    if found is None:
        found = _fused(acting) if len(acting) <= MAX_FUSED else _one_by_one(acting)
        if len(ruleset.quiet) < MAX_GATES:
            ruleset.quiet[acting] = found
    return found


def _fused(acting: tuple[Rule, ...]) -> Quiet:
    if not acting:
        return lambda i, e, f: True
    try:
        return compile_code(lambda gen: "not (" + " or ".join(expression(r.when, gen) for r in acting) + ")")
    except (SyntaxError, RecursionError, MemoryError):
        return _one_by_one(acting)


def _one_by_one(acting: tuple[Rule, ...]) -> Quiet:
    preds = [r.when.pred for r in acting]
    return lambda i, e, f: not any(p(i, e, f) for p in preds)
