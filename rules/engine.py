"""evaluate(): the pure decision of what each rule wants done to one item.

No I/O and no clock but `now`. Per rule: overrides and scope, then the condition, then
the episode lifecycle — act once per item and rule until the condition stops holding,
climb the escalation ladder once per step, remind every `repeat_after`, and on stop
close the episode and remove the flag label. Reasons for doing nothing are lazy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, overload

from rules.actions import Emit
from rules.gates import Gate, gate, quiet_besides
from rules.model import (
    Action,
    ActorKind,
    EpisodeChange,
    EpisodeTransition,
    EvalContext,
    Event,
    Item,
    NoAction,
    Plan,
    RuleState,
)
from rules.registry import Frame
from rules.ruleset import Rule, RuleSet, Step
from rules.triggers import SCHEDULE, SKIPPED_KINDS, trigger_of

SNOOZE_LABEL = "flowkeeper-snoozed"


def triggered(rule: Rule, kind: str) -> bool:
    return kind in rule.trigger_set


class _Out:
    __slots__ = ("actions", "no_actions", "transitions")

    def __init__(self, no_actions: list[NoAction]) -> None:
        self.actions: list[Action] = []
        self.transitions: list[EpisodeTransition] = []
        self.no_actions = no_actions


def evaluate(ruleset: RuleSet, item: Item, event: Event | None, now: datetime, context: EvalContext) -> Plan:
    """Decide, for every rule of the set, what to do to `item` at `now`.

    Most items of a sweep need nothing. For an item with no episode and none of our flags,
    the gate (event kind, category, scope) gives most verdicts as shared ones, and one fused
    check tells whether any other rule's condition holds; when none does, the Plan carries
    the item and verdicts worked out only if someone reads them.
    """
    if event is None:
        kind = SCHEDULE
    else:
        if event.actor is not None and event.actor.kind is ActorKind.FLOWKEEPER:
            return Plan(item, (), (), _skipped(ruleset, "event caused by Flowkeeper's own write"))
        if event.kind in SKIPPED_KINDS:
            return Plan(item, (), (), _skipped(ruleset, SKIPPED_KINDS[event.kind]))
        kind = trigger_of(event)
    labels = item.labels
    folded = _fold(labels) if labels else _NONE
    if context.overrides or context.exempt_rules or item.deleted or item.unknown:
        # per-rule overrides and checks: take the long way
        return _decide(ruleset, item, event, now, context, kind, folded, ruleset.rules, [])
    category, tracker, team = item.status.category, item.tracker, item.team
    found = ruleset.gates.get((kind, category, tracker, team)) or gate(ruleset, kind, category, tracker, team)
    if context.rule_states or (folded and not folded.isdisjoint(ruleset.flag_union)):
        return _busy_item(found, item, event, ruleset.frame(now, context), folded)
    if not found.rules:
        return _quiet_plan(item, found.static)
    frame = ruleset.frame(now, context)
    if found.quiet(item, event, frame):
        return _quiet_plan(item, _Verdicts(found, item, event, frame))
    return _decide(ruleset, item, event, now, context, kind, folded, found.rules, list(found.static))


def _busy(ruleset: RuleSet, context: EvalContext, folded: frozenset[str]) -> frozenset[str] | None:
    """The rules with an episode on the item or a flag of theirs on it (None: no such rule)."""
    states = context.rule_states
    flagged = _flagged(ruleset, folded) if folded and not folded.isdisjoint(ruleset.flag_union) else _NONE
    if not states:
        return flagged or None
    return flagged.union(states) if flagged else frozenset(states)


def _flagged(ruleset: RuleSet, folded: frozenset[str]) -> frozenset[str]:
    """The rules whose flag is among the item's labels; remembered per set of labels."""
    names = ruleset.flagged.get(folded)
    if names is None:
        names = frozenset(r.name for r in ruleset.rules if not r.flag_set.isdisjoint(folded))
        if len(ruleset.flagged) < MAX_FOLDED:
            ruleset.flagged[folded] = names
    return names


def _busy_item(found: Gate, item: Item, event: Event | None, frame: Frame, folded: frozenset[str]) -> Plan:
    """An item with an episode or a flag of ours: those rules run in full (to act, remind or
    clear). When none of them does anything and no other rule's condition holds, the item is
    as quiet as one without: its verdicts are worked out when read."""
    ruleset = found.ruleset
    busy = _busy(ruleset, frame.ctx, folded)
    assert busy is not None
    out = _Out([])
    snoozed = _snoozed(folded, frame.ctx, frame.now)
    for rule in ruleset.rules:
        if rule.name in busy:
            _rule(rule, item, event, frame, found.kind, snoozed, folded, out)
    if not out.actions and not out.transitions:
        if quiet_besides(found, busy)(item, event, frame):
            return _quiet_plan(item, _Verdicts(found, item, event, frame))
    return _long_way(found, item, event, frame, folded)


def _long_way(found: Gate, item: Item, event: Event | None, frame: Frame, folded: frozenset[str]) -> Plan:
    """Every rule the gate leaves open, and every rule with an episode or flag, in turn."""
    ruleset, context = found.ruleset, frame.ctx
    busy = _busy(ruleset, context, folded)
    if busy:
        static = [v for v in found.static if v.rule not in busy]
        rules = tuple(r for r in ruleset.rules if r.name in busy or r in found.rules)
    else:
        static, rules = list(found.static), found.rules
    return _decide(ruleset, item, event, frame.now, context, found.kind, folded, rules, static)


_new = object.__new__
_PLAN_SLOTS = tuple(Plan.__dict__[name].__set__ for name in ("item", "actions", "transitions", "no_actions"))


def _quiet_plan(item: Item, verdicts: Sequence[NoAction]) -> Plan:
    """Plan(item, (), (), verdicts), set slot by slot: the frozen dataclass's own __init__ costs
    more than the whole rest of deciding on a quiet item."""
    set_item, set_actions, set_transitions, set_verdicts = _PLAN_SLOTS
    plan: Plan = _new(Plan)
    set_item(plan, item)
    set_actions(plan, ())
    set_transitions(plan, ())
    set_verdicts(plan, verdicts)
    return plan


def _decide(ruleset: RuleSet, item: Item, event: Event | None, now: datetime, context: EvalContext, kind: str,
            folded: frozenset[str], rules: tuple[Rule, ...], no_actions: list[NoAction]) -> Plan:
    """Each of `rules` on the item in turn, after the verdicts already known (`no_actions`)."""
    frame = ruleset.frame(now, context)
    snoozed = None if context.snoozed_until is None and not folded else _snoozed(folded, context, now)
    out = _Out(no_actions)
    for rule in rules:
        _rule(rule, item, event, frame, kind, snoozed, folded, out)
    return Plan(item, tuple(out.actions) if out.actions else (),
                tuple(out.transitions) if out.transitions else (), tuple(out.no_actions))


class _Verdicts(Sequence[NoAction]):
    """Every rule's verdict for an item no rule acts on, worked out when first read: the
    rule-by-rule path run then gives exactly the reasons it would have given (a sweep reads
    almost none of them; explain, rule tests and the webhook log do)."""

    __slots__ = ("_done", "_event", "_frame", "_gate", "_item")

    def __init__(self, found: Gate, item: Item, event: Event | None, frame: Frame) -> None:
        self._gate = found
        self._item = item
        self._event = event
        self._frame = frame
        self._done: tuple[NoAction, ...] | None = None

    def _all(self) -> tuple[NoAction, ...]:
        if self._done is None:
            item = self._item
            plan = _long_way(self._gate, item, self._event, self._frame, _fold(item.labels) if item.labels else _NONE)
            assert not plan.actions and not plan.transitions, "the fused check and the rules disagree"
            self._done = tuple(plan.no_actions)
        return self._done

    @overload
    def __getitem__(self, index: int) -> NoAction: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[NoAction, ...]: ...

    def __getitem__(self, index: int | slice) -> NoAction | tuple[NoAction, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[NoAction]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())


def _skipped(ruleset: RuleSet, reason: str) -> tuple[NoAction, ...]:
    """Every rule's verdict for an event no rule looks at: built once per rule set and reason."""
    verdicts = ruleset.skipped.get(reason)
    if verdicts is None:
        verdicts = tuple(NoAction(r.name, reason) for r in ruleset.rules)
        if len(ruleset.skipped) < 64:
            ruleset.skipped[reason] = verdicts
    return verdicts


_NONE: frozenset[str] = frozenset()
_FOLDED: dict[tuple[str, ...], frozenset[str]] = {}  # labels as items carry them → casefolded
MAX_FOLDED = 8192


def _fold(labels: tuple[str, ...]) -> frozenset[str]:
    """The labels casefolded; remembered per set of labels, since a team uses few combinations."""
    folded = _FOLDED.get(labels) if type(labels) is tuple else None
    if folded is None:
        folded = frozenset(x.casefold() for x in labels)
        if type(labels) is tuple and len(_FOLDED) < MAX_FOLDED:
            _FOLDED[labels] = folded
    return folded


def _snoozed(folded: frozenset[str], context: EvalContext, now: datetime) -> str | None:
    if context.snoozed_until is not None and context.snoozed_until > now:
        return f"snoozed until {context.snoozed_until:%Y-%m-%d %H:%M %Z}".rstrip()
    if SNOOZE_LABEL in folded:
        return f"snoozed by the '{SNOOZE_LABEL}' label"
    return None


def effective(rule: Rule, context: EvalContext) -> tuple[bool, bool]:
    """(enabled, dry_run) after admin overrides, which win over the rule file.

    The global dry run is not decided here: the executor applies it on top, and nothing
    can lift it.
    """
    override = context.overrides.get(rule.name)
    if not override:
        return rule.enabled, rule.dry_run
    return bool(override.get("enabled", rule.enabled)), bool(override.get("dry_run", rule.dry_run))


def out_of_scope(rule: Rule, item: Item) -> str | None:
    if item.tracker not in rule.trackers:
        return f"applies to {', '.join(sorted(t.value for t in rule.trackers))}, not {item.tracker.value}"
    if rule.teams and item.team not in rule.teams:
        return f"team {item.team or '—'} is not in {', '.join(sorted(rule.teams))}"
    if item.deleted:
        return "item is deleted"
    if item.unknown and rule.fields_read & item.unknown:
        return f"the payload did not carry {', '.join(sorted(rule.fields_read & item.unknown))}"
    return None


def exempted(rule: Rule, item: Item, context: EvalContext) -> str | None:
    if rule.name in context.exempt_rules:
        return "exempted from this rule on this item"
    if rule.exempt_labels and any(x.casefold() in rule.exempt_labels for x in item.labels):
        return "exempt by label"
    if rule.exempt_assignees and item.assignee is not None:
        keys = {k.casefold() for k in (item.assignee.id, item.assignee.email, item.assignee.name) if k}
        if keys & rule.exempt_assignees:
            return "exempt by assignee"
    return None


def _rule(rule: Rule, item: Item, event: Event | None, frame: Frame, kind: str, snoozed: str | None,
          folded: frozenset[str], out: _Out) -> None:
    """One rule on one item. The common case (no match, no episode) must stay cheap."""
    ctx = frame.ctx
    enabled, dry = effective(rule, ctx) if ctx.overrides else (rule.enabled, rule.dry_run)
    if not enabled:
        out.no_actions.append(NoAction(rule.name, "rule is disabled"))
        return
    if (item.tracker not in rule.trackers or (rule.teams and item.team not in rule.teams) or item.deleted
            or (item.unknown and rule.fields_read & item.unknown)):
        out.no_actions.append(NoAction(rule.name, lambda: out_of_scope(rule, item)))
        return
    state = ctx.rule_states.get(rule.name) if ctx.rule_states else None
    active = state is not None and state.active
    # our flag on the item: only a label Flowkeeper put on counts, where the mirror knows who did
    flagged = bool(folded) and not rule.flag_set.isdisjoint(folded if ctx.own_labels is None
                                                             else folded & ctx.own_labels)
    is_triggered = kind in rule.trigger_set
    if not (is_triggered or active or flagged):
        out.no_actions.append(NoAction(rule.name, lambda: f"not triggered by '{kind}' (on: {_on(rule)})"))
        return
    exempt = exempted(rule, item, ctx) if (ctx.exempt_rules or rule.exempt_labels or rule.exempt_assignees) else None
    if exempt is None and rule.when.pred(item, event, frame):
        if snoozed is not None:
            out.no_actions.append(NoAction(rule.name, snoozed))
        elif not is_triggered and not active:
            out.no_actions.append(NoAction(rule.name, lambda: f"holds, but not triggered by '{kind}'"))
        else:
            _holds(rule, item, event, frame, state, dry, out)
    elif active or flagged:
        _stopped(rule, item, event, frame, state, dry, exempt, out)
    elif exempt is not None:
        out.no_actions.append(NoAction(rule.name, exempt))
    else:
        out.no_actions.append(NoAction(rule.name, lambda: _first_failure(rule, item, event, frame)))


def _on(rule: Rule) -> str:
    return ", ".join(sorted(rule.triggers))


def _stopped(rule: Rule, item: Item, event: Event | None, frame: Frame, state: Any, dry: bool,
             exempt: str | None, out: _Out) -> None:
    """The condition stopped holding on an item with an open episode or our flag: clear it."""
    if state is not None and state.active:
        out.transitions.append(EpisodeTransition(rule.name, EpisodeChange.CLOSE, state.episode))
    episode = state.episode if state is not None else 0
    reason = f"'{rule.name}' no longer holds ({exempt or 'the item moved'}): clearing its flag"
    for step in rule.steps:  # each rung clears under its own step id: one write identity per flag
        em = Emit(item, rule, frame, episode, f"close-{step.id}", reason, dry, event)
        for action in step.actions:
            out.actions += action.clear(em)


def _first_failure(rule: Rule, item: Item, event: Event | None, frame: Frame) -> str:
    trace = rule.when.explain(item, event, frame)
    while trace.children:
        failing = [c for c in trace.children if not c.ok] if trace.ok is False else trace.children
        if not failing or trace.label == "any":
            break
        trace = failing[0]
    return f"condition does not hold: {trace.label} is {trace.actual}, expected {trace.expected}"


def _holds(rule: Rule, item: Item, event: Event | None, frame: Frame, state: Any, dry: bool, out: _Out) -> None:
    active = state is not None and state.active
    episode = state.episode if active else (state.episode + 1 if state is not None else 1)
    done: frozenset[str] = state.steps_done if active else frozenset()
    if not active:
        out.transitions.append(EpisodeTransition(rule.name, EpisodeChange.OPEN, episode))
    current = _current_step(rule, item, frame, state if active else None)
    if any(s.id in done for s in rule.steps[current:]):
        _repeat(rule, item, event, frame, state, dry, out, episode, rule.steps[_highest_done(rule, done)])
        return
    for step in rule.steps[:current]:
        if step.id not in done:  # catching up: a skipped rung's labels, not its comments
            em = Emit(item, rule, frame, episode, step.id, _reason(rule, step), dry, event)
            out.actions += [a for action in step.actions if action.flag_label or _is_label(action)
                            for a in action.emit(em) if a.kind.value == "add_labels"]
    step = rule.steps[current]
    em = Emit(item, rule, frame, episode, step.id, _reason(rule, step), dry, event)
    emitted = [a for action in step.actions for a in action.emit(em)]
    out.actions += emitted
    if em.notes:  # an action with nothing to do says why (explain, rule tests, the audit)
        out.no_actions.append(NoAction(rule.name, "; ".join(em.notes)))


def _is_label(action: Any) -> bool:
    return getattr(action, "labels", None) is not None


def _current_step(rule: Rule, item: Item, frame: Frame, state: RuleState | None) -> int:
    """The highest rung whose time has come (0: the rule's `then`): by the rule's clock, or for a
    rung counted `from: previous_step`, by when the rung before it was done in this episode."""
    if len(rule.steps) == 1:
        return 0
    clock = rule.clock(item, frame)
    current = 0
    for n, step in enumerate(rule.steps[1:], start=1):
        since = _previous_done(rule, n, state) if step.from_previous else clock
        if since is not None and step.slot is not None and since < frame.cut[step.slot]:  # strictly more
            current = n
    return current


def _previous_done(rule: Rule, n: int, state: RuleState | None) -> datetime | None:
    """When rung n-1 was done in the open episode (None: not yet)."""
    return state.done_at(rule.steps[n - 1].id) if state is not None else None


def _highest_done(rule: Rule, done: frozenset[str]) -> int:
    return max(n for n, s in enumerate(rule.steps) if s.id in done)


def _repeat(rule: Rule, item: Item, event: Event | None, frame: Frame, state: Any, dry: bool, out: _Out,
            episode: int, step: Step) -> None:
    """Already acted at this rung: a reminder every `repeat_after`, else nothing."""
    since = (state.opened_at or state.last_action_at) if state is not None else None
    if rule.repeat_after is None or since is None:
        out.no_actions.append(NoAction(rule.name, lambda: f"already acted in episode {episode} (step {step.id})"))
        return
    elapsed = rule.calendar.elapsed(since, frame.now, rule.repeat_after.unit)
    k = int(elapsed // rule.repeat_after.amount)
    step_id = f"repeat-{k}"
    if k < 1 or step_id in state.steps_done:
        out.no_actions.append(NoAction(rule.name, lambda: f"already acted; next reminder after {rule.repeat_after}"))
        return
    reason = f"'{rule.name}' still holds: reminder {k} (every {rule.repeat_after})"
    em = Emit(item, rule, frame, episode, step_id, reason, dry, event)
    for action in step.actions:
        out.actions += [a for a in action.emit(em) if a.kind.value == "comment"]


def _reason(rule: Rule, step: Step) -> str:
    if step.after is None:
        return f"'{rule.name}' holds: {rule.summary}"
    if step.from_previous:
        return f"'{rule.name}' escalation step {step.id}: step {int(step.id) - 1} done more than {step.after} ago"
    return f"'{rule.name}' escalation step {step.id}: {rule.clock_name} older than {step.after}"
