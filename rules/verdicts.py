"""Rule verdicts for Explain: for one item, every rule's verdict with each condition's actual, expected and ✅/❌."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rules.engine import effective, evaluate, exempted, out_of_scope, triggered
from rules.model import Action, EvalContext, Event, Item
from rules.registry import Trace
from rules.ruleset import Rule, RuleSet
from rules.triggers import trigger_of

OK, NO = "✅", "❌"


@dataclass
class RuleVerdict:
    rule: str
    description: str
    enabled: bool
    dry_run: bool
    triggered: bool
    scope: str | None  # why the item is out of the rule's scope, or None
    exempt: str | None
    holds: bool
    trace: Trace
    actions: list[Action] = field(default_factory=list)
    no_action: str | None = None
    clock: str | None = None  # the rule's clock: its value and where that came from

    def format_text(self) -> str:
        """The CLI's reading: a headline, one ✅/❌ line per condition, then the outcome."""
        mark = OK if self.holds and self.enabled and self.scope is None else NO
        flags = [x for x, on in (("disabled", not self.enabled), ("dry run", self.dry_run),
                                 ("not triggered", not self.triggered)) if on]
        lines = [f"{mark} {self.rule}{' [' + ', '.join(flags) + ']' if flags else ''} — {self.description}"]
        if self.scope:
            lines.append(f"   out of scope: {self.scope}")
        if self.exempt:
            lines.append(f"   exempt: {self.exempt}")
        lines += _trace_lines(self.trace, 1)
        if self.clock:
            lines.append(f"   clock {self.clock}")
        lines += [f"   → {_describe(a)}" for a in self.actions]
        if self.no_action:
            lines.append(f"   → no action: {self.no_action}")
        return "\n".join(lines)


def _trace_lines(trace: Trace, depth: int) -> list[str]:
    pad = "   " * depth
    mark = OK if trace.ok else NO
    if trace.children:
        out = [f"{pad}{mark} {trace.label}: {trace.actual}"]
        for child in trace.children:
            out += _trace_lines(child, depth + 1)
        return out
    return [f"{pad}{mark} {trace.label}: {trace.actual} (expected {trace.expected})"]


def _describe(action: Action) -> str:
    what = action.kind.value.replace("_", " ")
    dry = " (dry run)" if action.dry_run else ""
    return f"{what} {action.detail}{dry} [episode {action.episode}, step {action.step}]"


def explain(ruleset: RuleSet, item: Item, event: Event | None, now: datetime,
            context: EvalContext) -> list[RuleVerdict]:
    """Every rule's verdict for one item; the actions are exactly what evaluate() decides."""
    plan = evaluate(ruleset, item, event, now, context)
    frame = ruleset.frame(now, context)
    kind = trigger_of(event)
    verdicts = []
    for rule in ruleset.rules:
        enabled, dry = effective(rule, context)
        trace = rule.when.explain(item, event, frame)
        exempt = exempted(rule, item, context)
        no_action = next((n.reason for n in plan.no_actions if n.rule == rule.name), None)
        verdicts.append(RuleVerdict(
            rule.name, rule.description, enabled, dry, triggered(rule, kind), out_of_scope(rule, item), exempt,
            trace.ok and exempt is None, trace, [a for a in plan.actions if a.rule == rule.name], no_action,
            _clock(rule, item, context)))
    return verdicts


def format_verdicts(verdicts: list[RuleVerdict]) -> str:
    return "\n\n".join(v.format_text() for v in verdicts)


def _clock(rule: Rule, item: Item, context: EvalContext) -> str:
    """'last_activity: 2026-03-02 09:00 UTC (mirror: last human activity)', and for each rung counted
    from the previous one: '; step 2 from step 1 done: 2026-03-05 09:00 UTC (rule state)'."""
    reading = rule.clock_reader(item, context)
    parts = [f"{rule.clock_name}: {_shown(reading.at)} ({reading.source})"]
    state = context.rule_states.get(rule.name)
    for n, step in enumerate(rule.steps):
        if not step.from_previous:
            continue
        previous = rule.steps[n - 1].id
        done = state.done_at(previous) if state is not None and state.active else None
        source = ("rule state: when it was done" if done is not None and (previous, done) in state.steps_at  # type: ignore[union-attr]
                  else "rule state: its last action" if done is not None else f"step {previous} not done in this episode")
        parts.append(f"step {step.id} from step {previous} done: {_shown(done)} ({source})")
    return "; ".join(parts)


def _shown(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "—"
