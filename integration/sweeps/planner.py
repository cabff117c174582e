"""Plan one page of sweep candidates: refresh the mirror, judge each item, queue the writes.

Nothing here writes to a tracker. Dry-run outcomes ("would do") are recorded at once,
since they cost the tracker nothing; live writes are queued for the apply phase, where
the write budget and the blast-radius guard see the whole sweep before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from integration.codec import to_jsonable
from integration.executor import ApplyContext, apply
from integration.store.store import Store
from integration.sweeps.context import SharedFacts, context_for, human_activity, load_facts, mirrored_items
from integration.sweeps.mirror_page import refresh
from integration.sweeps.writes import SweepWrites
from integration.trackers.base import TrackerClient
from rules.engine import evaluate
from rules.model import Action, Item, Plan
from rules.ruleset import Rule, RuleSet


@dataclass(frozen=True)
class PlanningContext:
    """What planning one run's pages needs; the same for every page of the run."""

    store: Store
    tracker: str
    run_id: str
    rule: Rule
    ruleset: RuleSet
    as_of: datetime  # the run's judging instant: one set of cutoffs for every page
    global_dry: bool  # deployment dry run, no credentials, or `--dry-run`
    rule_dry_run: Callable[[str], bool]
    client: TrackerClient | None
    clock: Callable[[], datetime]

    def dry(self, action: Action) -> bool:
        return self.global_dry or action.dry_run or self.rule_dry_run(action.rule) or self.client is None


def describe(plan: Plan) -> str:
    """One line for the held-writes list, saying what each write would write:
    'add_labels stalled; comment: @Ada no activity for 6 days; transition: to canceled (stale)'."""
    return "; ".join(f"{a.kind.value} {' '.join(a.labels)}".strip() if a.labels else
                     f"{a.kind.value}: {_short(a.detail)}" for a in plan.actions) or "episode change"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judge(store: Store, tracker: str, rule: Rule, ruleset: RuleSet, found: Sequence[Item], at: datetime,
          global_dry: bool, rule_dry_run: Callable[[str], bool], shared: SharedFacts | None = None) -> list[Plan]:
    """What `rule` wants done to each item at `at`, on the mirror's facts (one rule, not the set)."""
    facts = load_facts(store, tracker, [i.id for i in found], at, shared)
    single = RuleSet((rule,), ruleset.slots)
    plans = []
    for item in found:
        judged, context = context_for(facts, item, global_dry, rule_dry_run)
        plans.append(evaluate(single, judged, None, at, context))
    return plans


def plan_page(ctx: PlanningContext, found: Sequence[Item]) -> dict[str, int]:
    """Judge a page of candidates; returns counters for the run's stats."""
    ids = [i.id for i in found]
    mirrored = mirrored_items(ctx.store, ctx.tracker, ids)
    active = human_activity(ctx.store, ctx.tracker, ids).keys()
    fresh, new = refresh(ctx.store, ctx.tracker, found, mirrored, active, ctx.clock())
    stats = {"candidates": len(found), "mirror_new": new}
    plans = judge(ctx.store, ctx.tracker, ctx.rule, ctx.ruleset, fresh, ctx.as_of, ctx.global_dry, ctx.rule_dry_run)
    for plan in plans:
        _count(stats, _route(ctx, plan))
    return stats


def _route(ctx: PlanningContext, plan: Plan) -> str:
    """Apply what costs the tracker nothing now; queue live writes. Returns the counter to bump."""
    if not plan.actions and not plan.transitions:
        return "quiet"
    live = [a for a in plan.actions if not ctx.dry(a)]
    if not live:
        apply(plan, ApplyContext(store=ctx.store, client=ctx.client, dry_run=ctx.global_dry, now=ctx.clock(),
                                 rule_dry_run=ctx.rule_dry_run))
        return "dry_items" if plan.actions else "episode_changes"
    queued = Plan(plan.item, plan.actions, plan.transitions)
    SweepWrites(ctx.store.engine).stage(
        ctx.run_id, ctx.tracker, plan.item.id, plan.item.key, ctx.rule.name, to_jsonable(queued), len(live),
        describe(plan), ctx.clock(),
    )
    return "planned_items"


def _count(stats: dict[str, int], key: str) -> None:
    stats[key] = stats.get(key, 0) + 1
