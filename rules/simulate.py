"""Simulate a rule set over the item mirror: the writes it would make, per rule, with counts.

Pure: the caller (the `flowkeeper rules simulate` command) reads the mirror and passes
items with their contexts; nothing here touches a tracker or the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rules.engine import evaluate
from rules.model import EvalContext, Item
from rules.ruleset import RuleSet


@dataclass
class RuleSummary:
    rule: str
    items: int = 0  # items the rule would write to
    writes: Counter[str] = field(default_factory=Counter)  # action kind → count
    labels_added: Counter[str] = field(default_factory=Counter)
    labels_removed: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # a few item keys, for the reviewer


def summarize(ruleset: RuleSet, items_with_contexts: Iterable[tuple[Item, EvalContext]], now: datetime,
              examples: int = 5) -> dict[str, RuleSummary]:
    """Evaluate every item as a sweep would at `now`; count the writes per rule."""
    out = {rule.name: RuleSummary(rule.name) for rule in ruleset.rules}
    for item, context in items_with_contexts:
        plan = evaluate(ruleset, item, None, now, context)
        touched: set[str] = set()
        for action in plan.actions:
            summary = out[action.rule]
            summary.writes[action.kind.value] += 1
            target = summary.labels_added if action.kind.value == "add_labels" else summary.labels_removed
            if action.kind.value != "comment":
                target.update(action.labels)
            touched.add(action.rule)
        for name in touched:
            out[name].items += 1
            if len(out[name].examples) < examples:
                out[name].examples.append(item.key)
    return out


def format_summary(summary: dict[str, RuleSummary]) -> str:
    lines = []
    for s in summary.values():
        writes = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(s.writes.items())) or "no writes"
        lines.append(f"{s.rule}: {s.items} item{'' if s.items == 1 else 's'} — {writes}")
        for label, n in sorted(s.labels_added.items()):
            lines.append(f"    + {label}: {n}")
        for label, n in sorted(s.labels_removed.items()):
            lines.append(f"    - {label}: {n}")
        if s.examples:
            lines.append(f"    e.g. {', '.join(s.examples)}")
    return "\n".join(lines)
