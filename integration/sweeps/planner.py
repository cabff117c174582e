"""Plan one page of sweep candidates: refresh the mirror, judge each item, queue the writes.

Nothing here writes to a tracker. Dry-run outcomes ("would do") are recorded at once,
since they cost the tracker nothing; live writes are queued for the apply phase, where
the write budget and the blast-radius guard see the whole sweep before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from integration.codec import to_jsonable
from integration.executor import ApplyContext, apply
from integration.judge import Judge
from integration.judge.facts import human_activity, mirrored_items
from integration.store.store import Store
from integration.sweeps.mirror_page import dated, first_sight, refresh
from integration.trackers.base import TrackerClient
from rules.model import Action, Item, Plan
from rules.ruleset import Rule

log = logging.getLogger("flowkeeper.sweeps")

@dataclass(frozen=True)
class PlanningContext:
    """What planning one page needs: the run, its rule, and how to make the page job's judge."""

    store: Store
    tracker: str
    judge: Callable[[], Judge]  # called after the mirror refresh, so WIP counts include the page
    run_id: str
    rule: Rule
    as_of: datetime  # the run's judging instant: one set of cutoffs for every page
    clock: Callable[[], datetime]
    client: TrackerClient | None = None  # reads the record of items first seen


def describe(plan: Plan) -> str:
    """One line for the held-writes list, saying what each write would write:
    'add_labels stalled; comment: @Ada no activity for 6 days; transition: to canceled (stale)'."""
    return "; ".join(_one(a) for a in plan.actions) or "episode change"


def _one(action: Action) -> str:
    if action.labels:
        return f"{action.kind.value} {' '.join(action.labels)}"
    return f"{action.kind.value}: {_short(action.detail)}" if action.detail else action.kind.value


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_page(ctx: PlanningContext, found: Sequence[Item]) -> dict[str, int]:
    """Judge a page of candidates; returns counters for the run's stats."""
    ids = [i.id for i in found]
    mirrored = mirrored_items(ctx.store, ctx.tracker, ids)
    active = human_activity(ctx.store, ctx.tracker, ids).keys()
    found = dated(ctx.client, found, mirrored)
    found, counted = first_sight(ctx.client, found, active)
    fresh, new = refresh(ctx.store, ctx.tracker, found, mirrored, active, ctx.clock(), counted=counted)
    stats = {"candidates": len(found), "mirror_new": new}
    judge = ctx.judge()

    def failed(item: Item, error: Exception) -> None:  # one item's failure never stops the page
        log.error("sweep.item_failed", exc_info=error,
                  extra={"tracker": ctx.tracker, "item": item.key, "rule": ctx.rule.name, "run": ctx.run_id})
        _count(stats, "failed_items")

    for plan in judge.plans(fresh, None, ctx.as_of, judge.only(ctx.rule), on_error=failed):
        try:
            _count(stats, _route(ctx, judge, plan))
        except SQLAlchemyError:
            raise  # the store is away for every item: the page job fails and is retried whole
        except Exception as error:
            failed(plan.item, error)
    return stats


def plan_unchanged(ctx: PlanningContext, mirrored: Sequence[Item],
                   read: Callable[[Sequence[Item]], list[Item]]) -> dict[str, int]:
    """Judge candidates the tracker has not changed since the last sweep on their mirror copies.

    A flag already up with nothing new to say costs no request; only the items a rule would now
    write to (a new flag, the next step of an escalation ladder, a flag to clear) are read from
    the tracker (together, by `read`) and judged again on what it says, so a stale mirror entry
    never leads to a write.
    """
    judge = ctx.judge()
    stats = {"from_mirror": len(mirrored)}

    def failed(item: Item, error: Exception) -> None:
        log.error("sweep.item_failed", exc_info=error,
                  extra={"tracker": ctx.tracker, "item": item.key, "rule": ctx.rule.name, "run": ctx.run_id})
        _count(stats, "failed_items")

    acting = [plan.item for plan in judge.plans(mirrored, None, ctx.as_of, judge.only(ctx.rule), on_error=failed)
              if plan.actions or plan.transitions]
    fresh = read(acting)
    stats["refetched"] = len(fresh)
    stats["gone"] = len(acting) - len(fresh)
    if fresh:
        for key, value in plan_page(ctx, fresh).items():
            if key != "candidates":
                stats[key] = stats.get(key, 0) + value
    return stats


def _route(ctx: PlanningContext, judge: Judge, plan: Plan) -> str:
    """Apply what costs the tracker nothing now; queue live writes. Returns the counter to bump."""
    if not plan.actions and not plan.transitions:
        return "quiet"
    live = [a for a in plan.actions if not judge.dry.action(a)]
    if not live:
        apply(plan, ApplyContext.of(judge, ctx.clock(), run_id=ctx.run_id))
        return "dry_items" if plan.actions else "episode_changes"
    queued = Plan(plan.item, plan.actions, plan.transitions)
    ctx.store.sweep_writes.stage(
        ctx.run_id, ctx.tracker, plan.item.id, plan.item.key, ctx.rule.name, to_jsonable(queued), len(live),
        describe(plan), ctx.clock(),
    )
    return "planned_items"


def _count(stats: dict[str, int], key: str) -> None:
    stats[key] = stats.get(key, 0) + 1
