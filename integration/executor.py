"""`apply(plan, …)`: the only code that writes to a tracker.

It is also the only place that knows about dry run, write claims and the comment
marker, so every path (webhook, sweep, approval of held writes, replay) is idempotent
in the same way. Every decision becomes an audit entry with a reason a person can read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from integration.judge.dryrun import DRY, LIVE, DryRun
from integration.moves import move
from integration.observability.record import decisions as observed_decisions
from integration.store.audit import AuditEntry, Outcome
from integration.store.claims import ClaimResult
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from integration.trackers.base import RateLimited, TrackerClient, TrackerError, WriteMarker
from rules.model import Action, ActionKind, ActorKind, EpisodeTransition, Item, Plan

if TYPE_CHECKING:
    from integration.judge import Judge


class RetryLater(Exception):
    """A write failed for a reason that may pass (rate limit, 5xx): the job is retried."""


@dataclass
class ApplyResult:
    entries: list[AuditEntry] = field(default_factory=list)
    retryable_failures: int = 0

    def outcomes(self) -> list[str]:
        return [e.outcome.value for e in self.entries]

    @property
    def retry_after(self) -> float | None:
        """The longest wait a tracker asked for (`Retry-After`) among the writes that may pass later."""
        return max((float(e.detail["retry_after"]) for e in self.entries if e.detail.get("retry_after") is not None),
                   default=None)


@dataclass(frozen=True)
class ApplyContext:
    store: Store
    client: TrackerClient | None
    dry: DryRun  # decided once for the job: the deployment's, the client's and each rule's
    now: datetime
    delivery_id: str | None = None
    # Sweeps: a write never attempted before (no claim existed) cannot have left a comment
    # behind, so its marker lookup — one read per comment — is skipped. Retries still look.
    trust_first_claims: bool = False
    # Replies to `/flowkeeper` commands are no rule's episode: they record no rule state.
    record_states: bool = True
    run_id: str | None = None  # the sweep run deciding, kept in each audit entry (`sweep --dry-run` lists them)
    # More writes committed with the decisions, given what was done: the webhook job's delivery end
    # when nothing follows, so a commenting event takes SQLite's write lock once less.
    also: Callable[[Connection, ApplyResult], None] | None = None

    def __post_init__(self) -> None:
        if self.client is None and self.dry.writable:
            raise ValueError("a job without a tracker client cannot be judged writable")

    @classmethod
    def of(cls, judge: Judge, now: datetime, **options: Any) -> ApplyContext:
        """The context for applying what `judge` planned (`options`: the fields below `now`)."""
        return cls(store=judge.store, client=judge.client, dry=judge.dry, now=now, **options)


def apply(plan: Plan, ctx: ApplyContext) -> ApplyResult:
    """Carry out (or record as "would do") every action of `plan`, then its episode changes.

    The claims of the writes made are finished in the transaction that records the decisions and
    episodes (one write transaction fewer per write); should anything fail before that commits,
    they are finished on their own, so a retry finds each write done rather than in flight."""
    result = ApplyResult()
    settled: dict[tuple[str, str, int, str], bool] = {}
    finishing: list[tuple[str, bool]] = []  # (claim identity, ok) of the writes made
    committed = False
    try:
        for action in plan.actions:
            dry = ctx.dry.action(action)
            entry = _dry(plan.item, action, ctx) if dry else _live(plan.item, action, ctx, finishing)
            result.entries.append(entry)
            key = (DRY if dry else LIVE, action.rule, action.episode, action.step)
            settled[key] = settled.get(key, True) and _settled(entry)
            if entry.outcome is Outcome.FAILED and entry.detail.get("retryable"):
                result.retryable_failures += 1
        steps: dict[str, set[tuple[str, int, str]]] = {LIVE: set(), DRY: set()}
        for (mode, rule, episode, step), done in settled.items():
            if done:
                steps[mode].add((rule, episode, step))
        changes = _state_changes(plan, ctx, steps) if ctx.record_states else []
        if changes or result.entries:  # claims, episodes and the decisions' audit entries: one transaction
            with ctx.store.engine.begin() as conn:
                _finish_claims(plan.item, ctx, finishing, conn)
                for mode, transitions, finished in changes:
                    ctx.store.rule_states.apply(plan.item.tracker.value, plan.item.id, plan.item.key, mode,
                                                transitions, finished, ctx.now, conn=conn)
                ctx.store.audit.record(result.entries, conn=conn)
                if ctx.also is not None:
                    ctx.also(conn, result)
        committed = True
    finally:
        if not committed and finishing:
            with contextlib.suppress(Exception):  # the error under way is the one to report
                _finish_claims(plan.item, ctx, finishing)
    observed_decisions(result.entries)  # one log line each, and /metrics counts
    return result


def _finish_claims(item: Item, ctx: ApplyContext, finishing: list[tuple[str, bool]],
                   conn: Connection | None = None) -> None:
    for identity, ok in finishing:
        ctx.store.claims.finish(item.tracker.value, item.id, identity, ok=ok, now=ctx.now, conn=conn)


def _settled(entry: AuditEntry) -> bool:
    """A step counts as done only when each of its writes is: done, already done, or failed for
    good. A write still in flight elsewhere (its worker may have died) or failed for a reason
    that may pass keeps the step open, so the next evaluation tries that write again."""
    if entry.outcome in (Outcome.DONE, Outcome.WOULD_DO) or entry.detail.get("already"):
        return True
    return entry.outcome is Outcome.FAILED and not entry.detail.get("retryable")


def _state_changes(plan: Plan, ctx: ApplyContext, steps: dict[str, set[tuple[str, int, str]]]
                   ) -> list[tuple[str, list[EpisodeTransition], list[tuple[str, int, str]]]]:
    """Per mode, the episodes the plan opens or closes and the steps now done (modes with none left out)."""
    changes = []
    for mode in (LIVE, DRY):
        transitions = [t for t in plan.transitions if ctx.dry.mode(t.rule) == mode]
        if transitions or steps[mode]:
            changes.append((mode, transitions, sorted(steps[mode])))
    return changes


def _entry(item: Item, action: Action, ctx: ApplyContext, outcome: Outcome, reason: str, **detail: object) -> AuditEntry:
    base: dict[str, object] = {"identity": action.identity}
    if ctx.run_id is not None:
        base["run"] = ctx.run_id
    if action.labels:
        base["labels"] = list(action.labels)
    if action.comment is not None:
        base["comment"] = action.comment.plain[:2000]
    if action.transition is not None:
        base["transition"] = {"to": action.transition.status or (action.transition.category.value
                                                                  if action.transition.category else None),
                              "reason": action.transition.note, "reopen": action.transition.reopen}
    if action.kind is ActionKind.ASSIGN and action.assignee is not None:
        base["assignee"] = action.assignee.name or action.assignee.email or action.assignee.id
    return AuditEntry(
        at=ctx.now,
        tracker=item.tracker.value,
        item_key=item.key,
        rule=action.rule,
        action=action.kind.value,
        outcome=outcome,
        reason=reason,
        delivery_id=ctx.delivery_id,
        detail={**base, **detail},
    )


def _dry(item: Item, action: Action, ctx: ApplyContext) -> AuditEntry:
    return _entry(item, action, ctx, Outcome.WOULD_DO, f"{ctx.dry.why(action)}: {action.reason}")


def _live(item: Item, action: Action, ctx: ApplyContext, finishing: list[tuple[str, bool]]) -> AuditEntry:
    """Claim, write, and add the claim to `finishing` (`apply` finishes it with the decisions). Any
    other error leaves the claim in flight: whether the write reached the tracker is not known."""
    assert ctx.client is not None
    claims = ctx.store.claims
    identity = claim_identity(action)
    if (identity, True) in finishing:  # the same write twice in one plan: its claim is not finished yet
        return _entry(item, action, ctx, Outcome.SKIPPED, "already done by an earlier run", already=True)
    first = ctx.trust_first_claims and not claims.claimed_before(item.tracker.value, item.id, identity)
    claim = claims.claim(item.tracker.value, item.id, identity, ctx.now)
    if claim is ClaimResult.ALREADY_DONE:
        return _entry(item, action, ctx, Outcome.SKIPPED, "already done by an earlier run", already=True)
    if claim is ClaimResult.IN_FLIGHT:
        return _entry(item, action, ctx, Outcome.SKIPPED, "another worker is making this write now")
    try:
        if action.kind in (ActionKind.TRANSITION, ActionKind.ASSIGN, ActionKind.UNASSIGN):
            reason = move(item, action, ctx.client, ctx.store, ctx.now, look_first=not first)
        else:
            reason = _write(item, action, ctx.client, look_first=not first)
    except TrackerError as error:
        finishing.append((identity, False))
        asked = {"retry_after": error.retry_after} if isinstance(error, RateLimited) and error.retry_after else {}
        return _entry(item, action, ctx, Outcome.FAILED, f"{type(error).__name__}: {error}", retryable=error.retryable,
                      **asked)
    finishing.append((identity, True))
    _remember_labels(item, action, ctx)
    return _entry(item, action, ctx, Outcome.DONE, reason)


def _remember_labels(item: Item, action: Action, ctx: ApplyContext) -> None:
    """Note in the item's history the labels Flowkeeper put on or took off, as Flowkeeper's:
    a `label_added` clock counts from them, and they never count as a person's activity."""
    if action.kind not in (ActionKind.ADD_LABELS, ActionKind.REMOVE_LABELS):
        return
    present = set(item.labels)
    adding = action.kind is ActionKind.ADD_LABELS
    changed = [label for label in _ordered(action.labels) if (label in present) is not adding]
    if changed:
        text = " ".join(("+" if adding else "-") + label for label in changed)
        entry = HistoryEntry(at=ctx.now, field="labels", actor_kind=ActorKind.FLOWKEEPER,
                             new=text if adding else None, old=None if adding else text)
        ctx.store.mirror.record_history(item.tracker.value, item, [entry])


def claim_identity(action: Action) -> str:
    """What a write claim names: label writes also by their labels, so clearing two flags of one
    rule in one step (an escalation ladder taken down) claims two writes, not one."""
    if action.kind is ActionKind.COMMENT or not action.labels:
        return action.identity
    return f"{action.identity}:{','.join(sorted(action.labels))}"[:255]


def _write(item: Item, action: Action, client: TrackerClient, look_first: bool = True) -> str:
    """Perform one action as a diff against the freshly read item; returns what was done."""
    if action.kind is ActionKind.COMMENT:
        assert action.comment is not None
        marker = WriteMarker(action.rule, item.key, action.episode, action.step)
        if look_first and (existing := client.find_marked_comment(item, marker)):
            return f"comment already present ({existing}): {action.reason}"
        comment_id = client.add_comment(item, action.comment, marker)
        return f"commented ({comment_id}): {action.reason}"
    present = set(item.labels)
    if action.kind is ActionKind.ADD_LABELS:
        missing = _ordered(label for label in action.labels if label not in present)
        if not missing:
            return f"labels already present: {action.reason}"
        client.add_labels(item, missing)
        return f"added {', '.join(missing)}: {action.reason}"
    there = _ordered(label for label in action.labels if label in present)
    if not there:
        return f"labels already absent: {action.reason}"
    client.remove_labels(item, there)
    return f"removed {', '.join(there)}: {action.reason}"


def _ordered(labels: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(labels))
