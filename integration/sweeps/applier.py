"""Apply a chunk of a sweep's queued writes: oldest first, within the budget, at the tracker's pace.

Each queued item is judged again on the mirror's current facts just before writing (a
webhook may have reported activity since it was planned), then applied through the
executor under the item's lock, so a webhook job racing the sweep, a retried chunk or a
second worker never writes twice (write claims). The queue row is marked right after its
item, so a crash loses at most the item in flight — which the next run picks up first.
A write that fails for a reason that may pass (a 429, a 5xx) sets only its own item aside
(`retrying`): the rest of the chunk carries on, and the items set aside are tried again once
the others are done, after the tracker's `Retry-After` or the same backoff a tracker call
retried in process waits (`SWEEP_WRITE_RETRY`); after its last try an item waits for the next
run, first in line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from redis.exceptions import LockError

from integration.codec import CodecError, from_jsonable
from integration.executor import ApplyContext, ApplyResult, apply
from integration.judge import Judge
from integration.store.audit import Outcome
from integration.store.store import Store
from integration.store.sweep_writes import PlannedWrite
from integration.trackers.base import RateLimitReporting, TrackerClient
from integration.trackers.linear.ratelimit import pause_needed
from integration.trackers.retry import RetryPolicy
from rules.model import Item, Plan
from rules.ruleset import Rule

WRITE_COST = 10.0  # complexity points a label or comment mutation costs on Linear (small)
SPENT = (Outcome.DONE, Outcome.FAILED)
# Rounds of tries for a write that fails for a reason that may pass: ~5-10 s, then ~10-20 s;
# a Retry-After is honoured as asked (up to an hour: the step waits in the job queue, not in a worker).
SWEEP_WRITE_RETRY = RetryPolicy(tries=3, base_delay=10.0, max_delay=300.0, max_retry_after=3600.0)


@dataclass(frozen=True)
class ApplyingContext:
    store: Store
    tracker: str
    rule: Rule
    judge: Callable[[], Judge]  # one judge per chunk: its dry run and tracker-wide facts read once
    item_lock: Callable[[str], AbstractContextManager[object]]
    clock: Callable[[], datetime]
    run_id: str | None = None  # the sweep run applying, kept in each audit entry (`flowkeeper sweep` lists them)


@dataclass
class ChunkResult:
    stats: dict[str, int] = field(default_factory=dict)
    budget_spent: bool = False  # stopped because the next item would exceed the budget
    wait: float = 0.0  # stopped to let the tracker's rate limit recover (seconds)
    why: str = ""
    retry_after: float | None = None  # the longest Retry-After of the writes set aside to try again

    def asked(self, seconds: float | None) -> None:
        if seconds is not None:
            self.retry_after = max(self.retry_after or 0.0, seconds)

    def bump(self, key: str, by: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + by


def rate_wait(client: TrackerClient | None, now_ms: float | None = None) -> float:
    """Seconds to wait before writing, from the tracker's own rate-limit headers (Linear sends them)."""
    if not isinstance(client, RateLimitReporting):
        return 0.0
    budget = client.rate_budget()
    now_ms = now_ms if now_ms is not None else time.time() * 1000
    until_reset = budget.seconds_until_reset(now_ms)
    if until_reset is not None and until_reset <= 0:
        return 0.0  # the budget it describes has been renewed: the next answer says how much is left
    return pause_needed(budget, WRITE_COST, now_ms)


def apply_rows(ctx: ApplyingContext, rows: list[PlannedWrite], budget_left: int) -> ChunkResult:
    """Apply queued rows in order until the budget or the rate limit says stop."""
    result, writes = ChunkResult(), ctx.store.sweep_writes
    judge = ctx.judge()
    for row in rows:
        if row.writes > budget_left:
            result.budget_spent, result.why = True, f"write budget reached ({budget_left} writes left)"
            break
        wait = rate_wait(judge.client, ctx.clock().timestamp() * 1000)
        if wait > 0:
            result.wait, result.why = wait, f"{ctx.tracker}'s rate limit is nearly spent"
            break
        try:
            applied = _apply_row(ctx, judge, row)
        except LockError:  # another worker holds the item (or a dead one did, until its lock lapses)
            writes.mark(row.id, "deferred", ctx.clock())
            result.bump("busy_items")
            continue
        if applied is None:
            writes.mark(row.id, "superseded", ctx.clock())
            result.bump("superseded_items")
            continue
        spent = sum(1 for e in applied.entries if e.outcome in SPENT and not e.detail.get("already"))
        budget_left -= spent
        result.bump("writes", spent)
        if applied.retryable_failures:  # set aside: tried again once the others are done
            writes.mark(row.id, "retrying", ctx.clock())
            result.bump("retrying_items")
            result.asked(applied.retry_after)
            continue
        state = "applied" if _settled(applied) else "deferred"
        writes.mark(row.id, state, ctx.clock())
        result.bump("applied_items" if state == "applied" else "deferred_items")
    return result


def current_item(store: Store, tracker: str, row: PlannedWrite) -> Item | None:
    """The newer of the mirror's copy (webhooks keep it fresh) and the copy the plan was made on."""
    try:
        planned = from_jsonable(Plan, row.plan).item
    except CodecError:
        planned = None
    mirrored = store.mirror.get(tracker, row.item_id)
    if mirrored is None or planned is None:
        return mirrored or planned
    if planned.updated_at and mirrored.updated_at and planned.updated_at > mirrored.updated_at:
        return planned
    return mirrored


def _apply_row(ctx: ApplyingContext, judge: Judge, row: PlannedWrite) -> ApplyResult | None:
    """Judge the item again now and apply what is still wanted; None when nothing live is."""
    with ctx.item_lock(f"{ctx.tracker}:{row.item_id}"):
        item = current_item(ctx.store, ctx.tracker, row)
        if item is None:
            return None
        now = ctx.clock()
        plan = judge.plans([item], None, now, judge.only(ctx.rule))[0]
        if not plan.actions and not plan.transitions:
            return None
        return apply(plan, ApplyContext.of(judge, now, trust_first_claims=True, run_id=ctx.run_id))


def _settled(result: ApplyResult) -> bool:
    """Every action done, already done, or failed for good; a write in flight elsewhere is not."""
    return all(e.outcome is not Outcome.SKIPPED or e.detail.get("already") for e in result.entries)
