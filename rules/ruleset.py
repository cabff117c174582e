"""Compiled rules and rule sets: what the loader returns and the engine evaluates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rules.calendar import BusinessCalendar
from rules.compilectx import CLOSURE, WIP, SlotTable
from rules.durations import Duration, Unit
from rules.model import SWEEP_ORDERS, EvalContext, Item, NoAction, SearchQuery, StatusCategory, Tracker
from rules.pushdown import Bounds
from rules.registry import Frame, Node
from rules.templates import CommentTemplate

PREVIOUS_STEP = "previous_step"  # an escalation rung's `from:` counting from the rung before it


@dataclass(frozen=True)
class Step:
    """One rung of an escalation ladder: due once the rule's clock is `after` old or, with
    `from: previous_step`, once the rung before it was done `after` ago."""

    id: str
    after: Duration | None  # None for step "0", the rule's own `then`
    slot: int | None
    actions: tuple[Any, ...]
    from_previous: bool = False


@dataclass(frozen=True)
class SweepLimits:
    """A rule's own sweep limits; None leaves the deployment's setting in force."""

    write_budget: int | None = None
    blast_items: int | None = None
    blast_share: float | None = None
    order: str | None = None  # the sweep's order (rules.model.SWEEP_ORDERS); None: oldest updated first


@dataclass(frozen=True, eq=False)
class Rule:
    name: str
    description: str
    source: str
    line: int
    triggers: frozenset[str]
    schedule: str | timedelta | None
    timezone: str
    trackers: frozenset[Tracker]
    teams: frozenset[str]
    sweep_filter: str | None
    enabled: bool
    dry_run: bool
    labels_written: frozenset[str]
    flag_labels: tuple[str, ...]
    when: Node
    steps: tuple[Step, ...]
    repeat_after: Duration | None
    clock: Callable[[Item, Frame], datetime | None]
    clock_name: str
    clock_reader: Callable[[Item, EvalContext], Any]  # the clock's value with its source, for explain
    calendar: BusinessCalendar
    exempt_labels: frozenset[str]
    exempt_assignees: frozenset[str]
    fields_read: frozenset[str]
    summary: str
    age_unit: Unit | None
    slots: SlotTable = field(repr=False)
    sweep_limits: SweepLimits = SweepLimits()
    raw_when: dict[str, Any] = field(default_factory=dict, repr=False)  # as written, for online checks
    # precomputed for the hot path: triggers incl. status_changed when `updated` is on; flags casefolded
    trigger_set: frozenset[str] = frozenset()
    flag_set: frozenset[str] = frozenset()
    # status categories the condition requires (None: any), with ready-made "no action" verdicts
    # for items outside them and for events the rule does not listen to: shared, never rebuilt
    category_gate: frozenset[StatusCategory] | None = None
    gate_verdicts: Mapping[StatusCategory, NoAction] = field(default_factory=dict, repr=False)
    trigger_verdicts: Mapping[str, NoAction] = field(default_factory=dict, repr=False)
    people: Mapping[str, Any] = field(default_factory=dict, repr=False)  # handle → rules.people.PersonEntry

    def pushdown(self, now: datetime) -> SearchQuery:
        """Candidates for a sweep at `now`: a superset of the items this rule could act on."""
        bounds = Bounds(self.slots.cutoffs(now))
        if self.when.pushdown is not None:
            self.when.pushdown(bounds)
        always = self.flag_labels
        return SearchQuery(
            teams=tuple(sorted(self.teams)),
            status_categories=tuple(sorted(bounds.categories, key=lambda c: c.value)) if bounds.categories else (),
            status_names=tuple(sorted(bounds.status_names)) if bounds.status_names else (),
            updated_before=bounds.updated_before,
            created_after=bounds.created_after,
            created_before=bounds.created_before,
            custom_empty=tuple(sorted(bounds.custom_empty)),
            custom_not_empty=tuple(sorted(bounds.custom_not_empty)),
            field_in=tuple(bounds.field_in),
            field_empty=tuple(bounds.field_empty),
            labels_none_of=tuple(sorted(bounds.labels_none_of - set(always))),
            labels_any_of=tuple(sorted(bounds.labels_any_of)) if bounds.labels_any_of else (),
            always_include_labels=always,
            extra=self.sweep_filter,
            order=self.sweep_limits.order or SWEEP_ORDERS[0],
        )


@dataclass(frozen=True, eq=False)
class RuleTest:
    """A `tests:` entry of a rule file, kept raw; rules.ruletests runs it."""

    file: str
    line: int
    spec: dict[str, Any]


@dataclass(frozen=True, eq=False)
class RuleSet:
    rules: tuple[Rule, ...]
    slots: SlotTable = field(default_factory=SlotTable, repr=False)
    sources: tuple[Path, ...] = ()
    tests: tuple[RuleTest, ...] = ()

    # (event kind, category, tracker, team) → its rules.gates.Gate: verdicts known without looking
    # further, rules to run, and their fused "none holds" check (shared by gates with the same rules)
    gates: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)
    quiet: dict[Any, Callable[..., bool]] = field(default_factory=dict, repr=False)
    # labels on an item (casefolded) → the rules whose flag is among them
    flagged: dict[frozenset[str], frozenset[str]] = field(default_factory=dict, repr=False)
    # reason → every rule's verdict for an event no rule looks at (our own writes, skipped kinds)
    skipped: dict[str, tuple[NoAction, ...]] = field(default_factory=dict, repr=False)

    flag_union: frozenset[str] = frozenset()  # every rule's flag labels, casefolded
    last_frame: list[Frame] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flag_union", frozenset().union(*(r.flag_set for r in self.rules)))

    @property
    def reads_clocks(self) -> bool:
        """Whether any rule measures from a history clock (label added, field changed, …)."""
        return any("clocks" in rule.fields_read for rule in self.rules)

    @property
    def reads_subtasks(self) -> bool:
        """Whether any rule rolls a clock up from sub-tasks (`with_subtasks`)."""
        return any("subtasks" in rule.fields_read for rule in self.rules)

    @property
    def reads_closures(self) -> bool:
        """Whether a rule reads Flowkeeper's own last close of an item: `closed_by_flowkeeper`, or a reopen."""
        return any(CLOSURE in rule.fields_read
                   or any(getattr(action, "reads_closure", False) for step in rule.steps for action in step.actions)
                   for rule in self.rules)

    @property
    def reads_wip(self) -> bool:
        """Whether a rule needs the in-progress counts per assignee: `assignee.wip`, or `wip` in a comment."""
        return any(WIP in rule.fields_read for rule in self.rules) or self.comments_mention(WIP)

    def comments_mention(self, word: str) -> bool:
        """Whether any comment template's text names `word` (a variable it may read; text alike, to be safe)."""
        return any(word in value.source
                   for rule in self.rules for step in rule.steps for action in step.actions
                   for value in vars(action).values() if isinstance(value, CommentTemplate))

    def frame(self, now: datetime, context: EvalContext) -> Frame:
        """The evaluation frame; the last one is reused while `now` and the context are the same."""
        cache = self.last_frame
        if cache and cache[0].now == now and cache[0].ctx is context:
            return cache[0]
        frame = Frame(now, self.slots.cutoffs(now), context)
        self.last_frame[:] = [frame]
        return frame

    def rule(self, name: str) -> Rule | None:
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None
