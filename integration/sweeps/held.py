"""Held sweep writes: list them, approve them (re-judged on each item's current state), discard them.

The admin page and `flowkeeper held …` call these. Approval reads every held item fresh
from the tracker (the hold may be days old), judges the held rule again on it, and
applies only what is still wanted, through the executor — so an item someone moved in
the meantime is left alone. Approving again resumes a batch a rate limit interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from integration.judge.facts import human_activity, mirrored_items
from integration.services import Services, utcnow
from integration.store.audit import AuditEntry, Outcome
from integration.store.sweep_writes import HeldBatch, PlannedWrite
from integration.sweeps.applier import ApplyingContext, apply_rows
from integration.sweeps.mirror_page import first_sight, refresh
from integration.trackers.base import NotFound, RateLimited, TrackerError

__all__ = ["Approval", "HeldBatch", "approve", "approve_in_background", "discard", "list_batches", "writes_of"]
APPROVE_FUNC = "integration.sweeps.jobs.approve_held"


@dataclass
class Approval:
    batch_id: int
    applied: int = 0
    unchanged: int = 0  # no longer wanted on the item's current state
    gone: int = 0  # deleted, or no longer visible to Flowkeeper
    failed: int = 0
    remaining: int = 0  # left for a later approval (rate limit)
    messages: list[str] = field(default_factory=list)
    per_item: list[str] = field(default_factory=list)  # '1/2 ENG-1: written', as each item is done

    def describe(self) -> str:
        text = (f"batch {self.batch_id}: {self.applied} items written, {self.unchanged} no longer needed, "
                f"{self.gone} gone, {self.failed} failed")
        if self.remaining:
            text += f", {self.remaining} still held (approve again to continue)"
        return "; ".join([text, *self.messages])


def list_batches(services: Services, state: str | None = "pending", limit: int = 100) -> list[HeldBatch]:
    """Batches newest first (`state=None`: every state)."""
    return services.store.held_batches.list(state, limit)


def writes_of(services: Services, batch_id: int) -> list[PlannedWrite]:
    """The intended writes of a batch, one row per item (`summary`: 'add_labels stalled; comment')."""
    return services.store.sweep_writes.for_batch(batch_id)


def discard(services: Services, batch_id: int, by: str = "admin", now: datetime | None = None) -> int:
    """Drop a pending batch; returns how many items' writes were dropped."""
    now = now or utcnow()
    batches, writes = services.store.held_batches, services.store.sweep_writes
    batch = batches.get(batch_id)
    if batch is None or not batches.decide(batch_id, ("pending", "approving"), "discarded", by, now):
        raise ValueError(f"batch {batch_id} is not waiting for a decision")
    rows = writes.for_batch(batch_id, "held")
    for row in rows:
        writes.mark(row.id, "discarded", now)
    _record(services, batch, Outcome.SKIPPED, f"held writes discarded by {by}: {len(rows)} items left unchanged", now)
    return len(rows)


Progress = Callable[[int, int, str, str], None]  # (n, of N, item key, what happened to it)


def approve(services: Services, batch_id: int, by: str = "admin", clock=utcnow,  # type: ignore[no-untyped-def]
            progress: Progress | None = None) -> Approval:
    """Re-judge each held item on its current state and apply what is still wanted;
    `progress` hears of each item as it is done ('3, 12, ENG-7, written')."""
    batches, writes = services.store.held_batches, services.store.sweep_writes
    batch = batches.get(batch_id)
    if batch is None or batch.state not in ("pending", "approving"):
        raise ValueError(f"batch {batch_id} is not waiting for a decision")
    rule = services.rules.current().rule(batch.rule)
    client = services.clients.get(batch.tracker)
    if rule is None or client is None:
        missing = "its rule no longer exists" if rule is None else f"{batch.tracker} is not configured"
        raise ValueError(f"batch {batch_id} cannot be applied: {missing}; discard it instead")
    if not batches.decide(batch_id, ("pending", "approving"), "approving", by, clock()):
        raise ValueError(f"batch {batch_id} is not waiting for a decision")
    result = Approval(batch_id)
    ctx = ApplyingContext(store=services.store, tracker=batch.tracker, rule=rule,
                          judge=lambda: services.judge(batch.tracker), item_lock=services.item_lock, clock=clock)
    rows = writes.for_batch(batch_id, "held")
    for index, row in enumerate(rows):
        before = _tally(result)
        carry_on = _approve_row(services, ctx, row, result)
        happened = _what_happened(before, result, carry_on)
        result.per_item.append(f"{index + 1}/{len(rows)} {row.item_key}: {happened}")
        batches.save_result(batch_id, result.__dict__)  # the Held page shows it while the approval goes on
        if progress is not None:
            progress(index + 1, len(rows), row.item_key, happened)
        if not carry_on:
            result.remaining = len(rows) - index
            break
    done = result.remaining == 0
    if done:
        batches.decide(batch_id, ("approving",), "approved", by, clock(), result=result.__dict__)
    _record(services, batch, Outcome.DONE, f"held writes approved by {by}: {result.describe()}", clock())
    return result


def approve_in_background(services: Services, batch_id: int, by: str = "admin") -> str | None:
    """With Redis, hand the approval to a worker (a large batch outlives a web request) and return
    the job id; None on the embedded default, where the caller approves in place."""
    if services.redis is None:
        return None
    batch = services.store.held_batches.get(batch_id)
    if batch is None or batch.state not in ("pending", "approving"):
        raise ValueError(f"batch {batch_id} is not waiting for a decision")
    from rq import Queue

    from integration.queue import QUEUE_NAME

    job = Queue(QUEUE_NAME, connection=services.redis).enqueue(APPROVE_FUNC, batch_id, by, job_timeout=3600)
    return str(job.id)


def _approve_row(services: Services, ctx: ApplyingContext, row: PlannedWrite, result: Approval) -> bool:
    """One held item: fetch, refresh the mirror, re-judge, apply. False: stop (rate limited)."""
    writes, client = services.store.sweep_writes, services.clients[ctx.tracker]
    try:
        fresh = client.get_item(row.item_key)
    except NotFound:
        writes.mark(row.id, "superseded", ctx.clock())
        result.gone += 1
        return True
    except RateLimited as error:
        result.messages.append(f"stopped: {error}")
        return False
    except TrackerError as error:
        result.failed += 1
        result.messages.append(f"{row.item_key}: {error}")
        return not error.retryable
    mirrored = mirrored_items(services.store, ctx.tracker, [fresh.id])
    active = human_activity(services.store, ctx.tracker, [fresh.id]).keys()
    read, counted = first_sight(client, [fresh], active)
    refresh(services.store, ctx.tracker, read, mirrored, active, ctx.clock(), counted=counted)
    writes.mark(row.id, "planned", ctx.clock())
    outcome = apply_rows(ctx, [_as_planned(row)], budget_left=10**9)
    result.applied += outcome.stats.get("applied_items", 0) + outcome.stats.get("deferred_items", 0)
    result.unchanged += outcome.stats.get("superseded_items", 0)
    if outcome.wait:
        writes.mark(row.id, "held", ctx.clock())
        result.messages.append(f"stopped: {outcome.why}")
        return False
    return True


def _tally(result: Approval) -> tuple[int, int, int, int]:
    return result.applied, result.unchanged, result.gone, result.failed


def _what_happened(before: tuple[int, int, int, int], result: Approval, carry_on: bool) -> str:
    """One item's result in words, from how the approval's counters moved."""
    if not carry_on:
        return result.messages[-1] if result.messages else "stopped"
    moved = [now - then for now, then in zip(_tally(result), before, strict=True)]
    words = ("written", "no longer needed", "gone", f"failed: {result.messages[-1] if result.messages else ''}")
    return next((word for n, word in zip(moved, words, strict=True) if n), "nothing to write")


def _as_planned(row: PlannedWrite) -> PlannedWrite:
    return replace(row, state="planned")


def _record(services: Services, batch: HeldBatch, outcome: Outcome, reason: str, now: datetime) -> None:
    services.store.audit.record([AuditEntry(at=now, tracker=batch.tracker, rule=batch.rule, action="held",
                                            outcome=outcome, reason=reason, detail={"batch": batch.id})])
