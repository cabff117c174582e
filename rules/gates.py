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
    acting: tuple[Rule, ...]  # those of `rules` that are enabled and in scope: they may act
    # True when no rule of `acting` can act on an item with no episode and no flag of ours:
    # none of their conditions holds
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
    made = Gate(ruleset, kind, tuple(static), tuple(rules), tuple(acting), quiet_check(ruleset, tuple(acting)))
    if len(ruleset.gates) < MAX_GATES:
        ruleset.gates[key] = made
    return made


def quiet_check(ruleset: RuleSet, acting: tuple[Rule, ...]) -> Quiet:
    """One function: none of `acting`'s conditions holds. Remembered per set of rules, so gates
    (and items with an episode, checking the rules besides it) with the same rules share it."""
    found: Quiet | None = ruleset.quiet.get(acting)
    if found is None:
        found = _fused(acting) if len(acting) <= MAX_FUSED else _one_by_one(acting)
        if len(ruleset.quiet) < MAX_GATES:
            ruleset.quiet[acting] = found
    return found


def quiet_besides(found: Gate, busy: frozenset[str]) -> Quiet:
    """The gate's check without the rules named in `busy` (an item's episodes and flags)."""
    key = (found.acting, busy)
    check: Quiet | None = found.ruleset.quiet.get(key)
    if check is None:
        check = quiet_check(found.ruleset, tuple(r for r in found.acting if r.name not in busy))
        if len(found.ruleset.quiet) < MAX_GATES:
            found.ruleset.quiet[key] = check
    return check


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
