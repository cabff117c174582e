"""Limits across items: when an event changes a group's count, the rest of the group is re-judged.

A WIP limit per assignee, team or status is one verdict for every item of the group, but
a webhook is about one item. When its event moves the item into or out of a group (it
started, finished, changed hands), every other in-progress item of the groups whose count
changed is judged again — on the limit rules only, as a sweep would judge it — and its
marks go on or come off in the same job. Each item is written under its own lock, taken
after the event's item lock is released, so two jobs can never wait on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from integration.executor import ApplyContext, ApplyResult, apply
from integration.judge import Judge
from integration.trackers.base import TrackerError
from rules.limits import item_groups, limits_in
from rules.model import Item
from rules.ruleset import Rule, RuleSet


def changed_groups(before: Item | None, after: Item, kinds: set[str]) -> set[str]:
    """The groups (of the kinds limits use) whose in-progress count this change moved."""
    moved = item_groups(after) if before is None else item_groups(before) ^ item_groups(after)
    return {group for group in moved if group.split(":", 1)[0] in kinds}


def _fresh(judge: Judge, items: list[Item], now: datetime) -> list[Item]:
    """The group's items as the tracker has them now (marks are label diffs against them), mirrored;
    the mirror's copy where the tracker cannot answer."""
    if judge.client is None:
        return items
    fresh = []
    for item in items:
        try:
            fresh.append(judge.store.mirror.upsert(judge.client.get_item(item.key), now))
        except TrackerError:
            fresh.append(item)
    return fresh


def _limited(judge: Judge) -> tuple[Rule, ...]:
    return tuple(rule for rule in judge.ruleset.rules if limits_in(rule.raw_when))


def may_regroup(judge: Judge, before: Item | None, after: Item) -> bool:
    """Whether `regroup` can have anything to do: a limit rule runs and the event moved one of its groups."""
    limited = _limited(judge)
    return bool(limited) and bool(changed_groups(before, after, set().union(*(limits_in(r.raw_when) for r in limited))))


def regroup(judge: Judge, before: Item | None, after: Item, now: datetime,
            item_lock: Callable[[str], AbstractContextManager[object]], delivery_id: str | None) -> ApplyResult:
    """Re-judge the other items of the groups `after`'s event changed; what was done, for the job's outcome."""
    result = ApplyResult()
    limited = _limited(judge)
    if not limited:
        return result
    groups = changed_groups(before, after, set().union(*(limits_in(rule.raw_when) for rule in limited)))
    others = [i for i in judge.store.mirror.in_groups(judge.tracker, groups) if i.id != after.id] if groups else []
    if not others:
        return result
    plans = judge.plans(_fresh(judge, others, now), None, now, RuleSet(limited, judge.ruleset.slots))
    for plan in plans:
        if not plan.actions and not plan.transitions:
            continue
        with item_lock(f"{judge.tracker}:{plan.item.id}"):
            done = apply(plan, ApplyContext.of(judge, now, delivery_id=delivery_id))
        result.entries += done.entries
        result.retryable_failures += done.retryable_failures
    return result
