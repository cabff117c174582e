"""Conditions over the team's flow history: how an item's age compares with past cycle times.

The history itself (each team's recent cycle times, the item's first start) is read by
the judge only when a rule uses one of these conditions, and handed over in the
EvalContext; the conditions stay pure.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from rules.compilectx import CompileCtx
from rules.fieldkinds import KIND_SCHEMAS, Kind, make_test, normalize_ops
from rules.model import Event, Item, StatusCategory
from rules.registry import Frame, Node, Trace, conditions, leaf_conditions

AGE_PERCENTILE = "age_percentile"
MIN_HISTORY = 5  # fewer finished items say nothing about the team's percentiles


def age_percentile_of(item: Item, f: Frame) -> tuple[float | None, str]:
    """(percentile, what was seen): the share of the team's cycle times at or below the item's age, in %."""
    started = f.ctx.started_at
    if item.status.category is not StatusCategory.IN_PROGRESS or started is None:
        return None, "not in progress"
    history = f.ctx.cycle_days_by_team.get(item.team or "", ())
    if len(history) < MIN_HISTORY:
        return None, f"{len(history)} finished item(s) in {item.team or 'the team'}'s history, {MIN_HISTORY} needed"
    age = (f.now - started).total_seconds() / 86400
    share = round(100 * bisect_right(history, age) / len(history), 1)
    return share, f"age {age:.1f} d = p{share:g} of {len(history)} cycle times"


@conditions.register(AGE_PERCENTILE, KIND_SCHEMAS[Kind.NUMBER], group="mirror")
def age_percentile(arg: Any, path: str, cctx: CompileCtx) -> Node:
    """Where the age of an item in progress (since its first start) falls among the cycle times of
    the team's recently finished items, as a percentile: `gte: 85` holds once the item is as old
    as the team's 85th percentile cycle time. Items not in progress, and teams with fewer than
    five finished items in the history, never match.

    Example::

        age_percentile: { gte: 85 }
    """
    cctx.fields.update({"status", "team"})
    ops = normalize_ops(Kind.NUMBER, arg)
    tests = [make_test(Kind.NUMBER, op, a, cctx) for op, a in ops.items()]

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        value, _ = age_percentile_of(i, f)
        return value is not None and all(t(value, f) for t in tests)

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        _, seen = age_percentile_of(i, f)
        expected = ", ".join(f"{op} {a}" for op, a in ops.items())
        return Trace(path, AGE_PERCENTILE, seen, expected, pred(i, e, f))
    return Node(pred, explain)


def uses_age_percentile(raw_when: dict[str, Any]) -> bool:
    """Whether a rule's condition (as written) needs the flow history."""
    return any(name == AGE_PERCENTILE for _, name, _ in leaf_conditions(raw_when))
