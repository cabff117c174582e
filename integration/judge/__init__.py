"""The one judge: what the rules see for a batch of items, and whether this job writes.

The webhook pipeline (a batch of one), the sweep planner and applier, held-write
approval, Explain and `rules simulate` all build their evaluation contexts here, so
what the rules see can never differ between them. `Judge` is made once per job, with the
job's `DryRun` decided once; the executor takes both through `ApplyContext.of`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import Connection

from integration.judge.dryrun import DryRun
from integration.judge.facts import BatchFacts, FlowFacts, SharedFacts
from integration.settings import Settings
from integration.store.snoozes import ItemPause
from integration.store.store import Store
from integration.trackers.base import TrackerClient
from rules.engine import evaluate
from rules.flow_conditions import uses_age_percentile
from rules.limits import uses_limits
from rules.model import EvalContext, Event, Item, Plan, RuleState
from rules.ruleset import Rule, RuleSet

__all__ = ["DryRun", "Judge", "SharedFacts"]


@dataclass(frozen=True)
class Judge:
    """One job's judge for one tracker: its rule set, its dry run and the tracker-wide facts."""

    store: Store
    tracker: str
    client: TrackerClient | None
    ruleset: RuleSet
    dry: DryRun
    shared: SharedFacts
    flow: dict[str, FlowFacts] = field(default_factory=dict, repr=False, compare=False)  # read once, if needed

    @classmethod
    def for_job(cls, store: Store, settings: Settings, tracker: str, client: TrackerClient | None,
                ruleset: RuleSet, *, forced_dry: bool = False, writable: bool | None = None,
                overrides: Mapping[str, Mapping[str, bool]] | None = None) -> Judge:
        """Read the tracker-wide facts and decide dry run, once.

        `writable` says whether a client could write (default: whether `client` is given);
        `rules simulate` judges as the deployment would run, client or not. `overrides`: the
        admin's overrides, when the caller read them already (the webhook job, with its item).
        """
        shared = SharedFacts.load(store, tracker, limits=uses_limits(ruleset.rules), wip=ruleset.reads_wip,
                                  overrides=overrides)
        requested = forced_dry or settings.dry_run_for(tracker)
        can_write = client is not None if writable is None else writable
        dry = DryRun.decide(requested, can_write, ruleset.rules, shared.overrides)
        return cls(store, tracker, client, ruleset, dry, shared)

    def contexts(self, batch: Sequence[Item], now: datetime,
                 facts: BatchFacts | None = None) -> list[tuple[Item, EvalContext]]:
        """Each item with its mirror clock, and the EvalContext the rules judge it on (`facts`: read
        already for this batch, `item_facts`)."""
        flow = self._flow(now)
        if facts is None or facts.ids != tuple(dict.fromkeys(i.id for i in batch)):
            facts = BatchFacts.load(self.store, self.tracker, [i.id for i in batch], now, starts=flow is not None,
                                    with_clocks=self.ruleset.reads_clocks, with_flags=bool(self.ruleset.flag_union),
                                    parents={i.key: i.id for i in batch} if self.ruleset.reads_subtasks else None,
                                    with_closures=self.ruleset.reads_closures)
        return [self._context(facts, item, flow) for item in batch]

    @staticmethod
    def item_facts(store: Store, ruleset: RuleSet, tracker: str, item_id: str, now: datetime,
                   conn: Connection) -> BatchFacts | None:
        """What `ruleset` judges one item on, read in the caller's read transaction (a webhook's,
        with the item's mirrored copy) before the job writes the item's history; the job then adds
        the rows it wrote (`BatchFacts.with_history`). None when a rule reads facts only the
        written history gives (clocks, first starts, Flowkeeper's labels, sub-tasks): `contexts`
        reads them after the write."""
        if ruleset.reads_clocks or ruleset.flag_union or ruleset.reads_subtasks or _reads_flow(ruleset):
            return None
        return BatchFacts.load(store, tracker, [item_id], now, with_closures=ruleset.reads_closures, conn=conn)

    def _flow(self, now: datetime) -> FlowFacts | None:
        """The teams' cycle times, when a rule compares ages with them (`age_percentile`)."""
        if not _reads_flow(self.ruleset):
            return None
        if "teams" not in self.flow:
            self.flow["teams"] = FlowFacts.load(self.store, self.tracker, now)
        return self.flow["teams"]

    def plans(self, batch: Sequence[Item], event: Event | None, now: datetime,
              ruleset: RuleSet | None = None,
              on_error: Callable[[Item, Exception], None] | None = None,
              facts: BatchFacts | None = None) -> list[Plan]:
        """What the rules (or `ruleset`, e.g. one sweep's rule) want done to each item now (no writes).

        With `on_error`, an item whose evaluation raises is reported there and left out, so
        one item's data never stops a sweep page for the others; without it, it raises.
        `facts`: the batch's facts, read already (`item_facts`).
        """
        rules = ruleset or self.ruleset
        plans = []
        for item, context in self.contexts(batch, now, facts):
            try:
                plans.append(evaluate(rules, item, event, now, context))
            except Exception as error:
                if on_error is None:
                    raise
                on_error(item, error)
        return plans

    def only(self, rule: Rule) -> RuleSet:
        """The job's rule set narrowed to `rule` (a sweep judges its own rule, not the set)."""
        return RuleSet((rule,), self.ruleset.slots)

    def _context(self, facts: BatchFacts, item: Item, flow: FlowFacts | None = None) -> tuple[Item, EvalContext]:
        activity = facts.activity.get(item.id, {})
        pause = facts.pauses.get(item.id, ItemPause())
        context = EvalContext(
            rule_states=self.states(facts.states.get(item.id, {})),
            wip_by_assignee=self.shared.wip,
            snoozed_until=pause.snoozed_until,
            exempt_rules=pause.exempt_rules,
            overrides=self.shared.overrides,
            last_activity_by=activity,
            started_at=facts.started.get(item.id),
            cycle_days_by_team=flow.cycle_days_by_team if flow is not None else {},
            clocks=facts.clocks.get(item.id, {}),
            closure=facts.closures.get(item.id),
            wip_groups=self.shared.wip_groups,
            wip_latest=self.shared.wip_latest,
            own_labels=None if facts.own_labels is None else facts.own_labels.get(item.id, frozenset()),
        )
        return measured_from(item, activity.get("any")), context

    def states(self, by_mode: Mapping[str, Mapping[str, RuleState]]) -> dict[str, RuleState]:
        """Each rule sees the episode of the mode it runs in now: a dry-run episode never blocks a live one."""
        chosen: dict[str, RuleState] = {}
        for name in set(by_mode.get("live", {})) | set(by_mode.get("dry", {})):
            state = by_mode.get(self.dry.mode(name), {}).get(name)
            if state is not None:
                chosen[name] = state
        return chosen


def _reads_flow(ruleset: RuleSet) -> bool:
    return any(r.raw_when and uses_age_percentile(r.raw_when) for r in ruleset.rules)


_ITEM_SLOTS = tuple((Item.__dict__[f.name].__get__, Item.__dict__[f.name].__set__) for f in fields(Item))
_SET_ACTIVITY = Item.__dict__["last_activity_at"].__set__


def measured_from(item: Item, at: datetime | None) -> Item:
    """The item as rules judge it: its clock is the mirror's last human activity `at`, where the
    mirror has one. Copied slot by slot: `dataclasses.replace` of an Item costs several times
    what judging it does, and a sweep judges every candidate."""
    now_at = item.last_activity_at
    if at is None or (now_at is not None and at == now_at and at.tzinfo is now_at.tzinfo and at.fold == now_at.fold):
        return item  # the same instant, written the same way: nothing to change
    copy: Item = object.__new__(Item)
    for get, put in _ITEM_SLOTS:
        put(copy, get(item))
    _SET_ACTIVITY(copy, at)
    return copy
