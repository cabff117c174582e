"""One event through the whole way: refresh the mirror → evaluate → apply → audit.

The webhook job, `flowkeeper replay` and the embedded runner all call `Pipeline.handle`.
The item is judged by the one judge (`integration.judge`, a batch of one) and its plan
applied by the one executor, with the dry run decided once for the job. A human's
`/flowkeeper …` comment is carried out (snooze, exemption) and acknowledged before the
rules see the item. Everything the pipeline needs is passed in, so a worker, a test and the CLI build it the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from integration.activity import history_entries
from integration.commands.handler import COMMAND_RULE, CommandHandler
from integration.executor import ApplyContext, ApplyResult, RetryLater, apply
from integration.intake import StoredValue
from integration.judge import Judge
from integration.judge.facts import BatchFacts
from integration.observability.record import observed_job
from integration.regroup import may_regroup, regroup
from integration.settings import Settings
from integration.status_entry import StatusEntries
from integration.store.audit import AuditEntry, Outcome
from integration.store.db import read_connection
from integration.store.store import Store
from integration.trackers.base import (
    NotFound,
    OrganizationScoped,
    SiteFactsReporting,
    TrackerClient,
    TrackerError,
    as_own,
)
from integration.trackers.linear.fresh import comment_issue_from_mirror
from integration.trackers.understand import understand
from rules.model import ActorKind, Event, EventKind, Item, Person, Plan
from rules.ruleset import RuleSet

log = logging.getLogger("flowkeeper.pipeline")


@dataclass
class Pipeline:
    settings: Settings
    store: Store
    clients: Mapping[str, TrackerClient]
    rules: Callable[[], RuleSet]  # the running rule set (reloaded when files change)
    item_lock: Callable[[str], AbstractContextManager[object]]
    clock: Callable[[], datetime]
    rule_names: Callable[[], Collection[str]] | None = None  # lets `/flowkeeper ignore` check names
    status_entries: StatusEntries | None = None  # the process's record: when to reuse the mirror's entry time
    accounts: dict[str, StoredValue] | None = None  # the process's copy of each `<tracker>.whoami`

    # ---- the webhook path -------------------------------------------------------
    @observed_job(retried=(RetryLater,))  # counts and times every delivery job for /metrics
    def handle(self, event: Event) -> str:
        """Process one delivery exactly once; returns a short outcome for logs and the CLI.

        The delivery's start is written with the job's first write (its mirror row, or what an
        early end settles), so a job that changes nothing else takes SQLite's write lock twice:
        a delivery processed before is recognised there, before anything of the job is stored,
        and that transaction is rolled back. What the job decided without writing to the tracker
        (skipped, no rule acted) is recorded in the transaction that settles the delivery: a
        crash leaves both or neither, and the retried job records it once.
        """
        tracker, delivery = event.tracker.value, event.delivery_id or ""
        now = self.clock()
        settled = Settled()
        if delivery and event.kind in _BEGUN_FIRST:  # they write before the mirror: start first
            if not self.store.deliveries.begin(tracker, delivery, now, event.item.key):
                return DUPLICATE
            settled.begun = True
        try:
            outcome = self._process(self._mark_self(event), now, settled)
        except ProcessedBefore:
            return DUPLICATE
        except RetryLater as error:
            self._settle(event, now, settled, released=str(error))
            raise
        except Exception:
            self._settle(event, now, settled, failed=True)
            raise
        self._settle(event, now, settled, outcome=outcome)
        return outcome

    def _begin(self, event: Event, now: datetime, settled: Settled, conn: Connection) -> bool:
        """The delivery's start in `conn`, the transaction of the job's first writes, ahead of them;
        False when it is not to be written (no delivery id, started already, or finished before)."""
        delivery = event.delivery_id
        if not delivery or settled.begun:
            return False
        if not self.store.deliveries.begin(event.tracker.value, delivery, now, event.item.key, conn=conn):
            raise ProcessedBefore(delivery)
        return True

    def _settle(self, event: Event, now: datetime, settled: Settled, *, outcome: str | None = None,
                released: str | None = None, failed: bool = False) -> None:
        """The job's no-write audit entries and the delivery's state after it, in one transaction: done
        with `outcome`, back to pending when `released` (retried later), left as it is when `failed`
        (RQ retries the job; `jobs.mark_delivery_failed` settles it once retries run out). A job that
        ended before its first write starts the delivery here, so its row is there to settle."""
        tracker, delivery = event.tracker.value, event.delivery_id or ""
        starting = bool(delivery) and not settled.begun
        if not settled and not starting and (not delivery or failed):
            return
        if outcome is not None and settled.finished:
            return  # written with the decisions
        try:
            with self.store.engine.begin() as conn:
                if starting:
                    self._begin(event, now, settled, conn)
                self.store.audit.record(settled, conn=conn)
                if delivery and released is not None:
                    self.store.deliveries.release(tracker, delivery, released, conn=conn)
                elif delivery and outcome is not None:
                    self.store.deliveries.finish(tracker, delivery, "done", outcome, self.clock(), conn=conn)
        except ProcessedBefore:
            return  # finished by an earlier run: its outcome stands
        except Exception:
            if outcome is not None:
                raise
            log.exception("pipeline.settle_failed", extra={"tracker": tracker, "delivery": delivery})

    def _process(self, event: Event, now: datetime, settled: Settled) -> str:
        tracker = event.tracker.value
        event = understand(event, self.store.service, self.clients.get(tracker), now)
        with self.item_lock(f"{tracker}:{event.item.id}"):
            if event.kind is EventKind.DELETED:
                self.store.mirror.mark_deleted(event.item, now)
                return self._skip(event, now, "item deleted in the tracker: mirror scrubbed", settled)
            if event.kind is EventKind.LABEL_CHANGED:
                return self._skip(event, now, "label definition changed: label names updated for history", settled)
            own = event.actor is not None and event.actor.kind is ActorKind.FLOWKEEPER
            ruleset = self.rules()
            # the item's mirrored copy, the overrides and what the rules judge it on: one read
            with read_connection(self.store.engine) as reader:
                before = self.store.mirror.get(tracker, event.item.id, conn=reader)  # its groups before: limits
                overrides = self.store.overrides.all(reader)
                facts = None if own else Judge.item_facts(self.store, ruleset, tracker, event.item.id, now, reader)
            item = self._complete(event, before, now)
            with self.store.engine.begin() as conn:  # the delivery's start, the item's history and mirror row
                begun = self._begin(event, now, settled, conn)
                written = self.store.mirror.append_history(tracker, item, history_entries(event), conn=conn)
                if item is not before and (not item.is_partial or self._mirror_as_carried(event, item)):
                    item = self.store.mirror.upsert(item, now, conn=conn)
            settled.begun = settled.begun or begun
            if own:
                return self._skip(event, now, "caused by Flowkeeper's own account: ignored (loop protection)", settled)
            judge = self.judge(tracker, overrides, ruleset)
            replied = self._command(event, item, now, judge)
            if replied is not None:  # a command may have snoozed or exempted the item: read its facts again
                facts = None
            result = self._evaluate(item, event, now, judge, settled,
                                    facts.with_history(item.id, written) if facts is not None else None,
                                    self._finishing(event, replied, settled, now) if not may_regroup(judge, before, item)
                                    else None)
            if replied is not None:
                result.entries[:0] = replied.entries
                result.retryable_failures += replied.retryable_failures
        grouped = regroup(judge, before, item, now, self.item_lock, event.delivery_id)  # outside this item's lock
        result.entries += grouped.entries
        result.retryable_failures += grouped.retryable_failures
        if result.retryable_failures:
            raise RetryLater(f"{result.retryable_failures} write(s) failed and will be retried")
        return _outcome(result.entries)

    def _finishing(self, event: Event, replied: ApplyResult | None, settled: Settled,
                   now: datetime) -> Callable[[Connection, ApplyResult], None] | None:
        """The delivery's end, written with the decisions when nothing can follow them (no regrouping):
        done with its outcome unless a write failed for a reason that may pass (then the job is retried)."""
        tracker, delivery = event.tracker.value, event.delivery_id
        if not delivery or (replied is not None and replied.retryable_failures):
            return None

        def finish(conn: Connection, result: ApplyResult) -> None:
            if result.retryable_failures or settled:
                return
            entries = [*(replied.entries if replied is not None else ()), *result.entries]
            self.store.deliveries.finish(tracker, delivery, "done", _outcome(entries), self.clock(), conn=conn)
            settled.finished = True

        return finish

    # ---- judging and applying -------------------------------------------------------
    def judge(self, tracker: str, overrides: Mapping[str, Mapping[str, bool]] | None = None,
              ruleset: RuleSet | None = None) -> Judge:
        """This job's judge for `tracker`: its rule set (`ruleset`: the one the job read already),
        dry run and tracker-wide facts, read once (`overrides`: the admin's, read with the item)."""
        return Judge.for_job(self.store, self.settings, tracker, self.clients.get(tracker), ruleset or self.rules(),
                             overrides=overrides)

    def _evaluate(self, item: Item, event: Event, now: datetime, judge: Judge, settled: list[AuditEntry],
                  facts: BatchFacts | None = None,
                  finish: Callable[[Connection, ApplyResult], None] | None = None) -> ApplyResult:
        """Evaluate the rules on a complete, mirrored item and apply the plan ("no rule acted" is
        recorded with the delivery's outcome, `settled`); `facts`: the item's, read with it; `finish`:
        the delivery's end, written with the decisions when the plan acts."""
        plan = judge.plans([item], event, now, facts=facts)[0]
        result = apply(plan, ApplyContext.of(judge, now, delivery_id=event.delivery_id,
                                             also=finish if plan.actions else None))
        if not plan.actions:
            settled.append(_no_action_entry(plan, event, now))
        return result

    def _command(self, event: Event, item: Item, now: datetime, judge: Judge) -> ApplyResult | None:
        """Carry out a `/flowkeeper …` comment and reply to it; None when there is none."""
        handler = CommandHandler(self.store.snoozes, self.store.claims, self.settings.sweeps, self.rule_names)
        done = handler.handle(event, item, now)
        if done is None:
            return None
        self.store.audit.record([done.audit])
        # the reply belongs to no rule: only the deployment's dry run holds it back
        replying = replace(judge, dry=judge.dry.also_live(COMMAND_RULE))
        result = apply(done.reply, ApplyContext.of(replying, now, delivery_id=event.delivery_id, record_states=False))
        # a reply that failed for a reason that may pass is retried with the job, and the command with it
        self.store.claims.finish(item.tracker.value, item.id, done.claim, ok=not result.retryable_failures,
                                 now=self.clock())
        return result

    # ---- helpers -------------------------------------------------------------------
    def _mark_self(self, event: Event) -> Event:
        """Flowkeeper's own account never triggers rules, whatever kind the tracker gave it; the
        accounts FLOWKEEPER_BOT_ACCOUNTS lists are bots, so their changes and comments are no
        person's activity."""
        me, bots = self.service_account(event.tracker.value), self.settings.activity.bot_accounts
        actor = as_own(event.actor, me.id if me else None, bots)
        comment = event.comment
        if comment is not None and comment.author is not None and bots:
            comment = replace(comment, author=as_own(comment.author, me.id if me else None, bots))
        return event if actor is event.actor and comment is event.comment else replace(event, actor=actor, comment=comment)

    def service_account(self, tracker: str) -> Person | None:
        key = f"{tracker}.whoami"
        stored = None if self.accounts is None else self.accounts.setdefault(key, StoredValue(self.store, key, None))
        cached = self.store.service.get(key) if stored is None else stored.read()
        if cached:
            return Person(id=cached["id"], name=cached.get("name"), kind=ActorKind.FLOWKEEPER)
        client = self.clients.get(tracker)
        if client is None:
            return None
        try:
            me = client.whoami()
        except TrackerError as error:
            log.warning("tracker.%s.whoami_failed", tracker, extra={"error": str(error)})
            return None
        self.store.service.put(key, {"id": me.id, "name": me.name}, self.clock())
        if stored is not None:
            stored.value = {"id": me.id, "name": me.name}
        if isinstance(client, SiteFactsReporting):  # Jira: e.g. the story points field the receiver reads
            try:
                self.store.service.put(f"{tracker}.site_facts", client.site_facts(), self.clock())
            except TrackerError as error:
                log.warning("tracker.%s.site_facts_failed", tracker, extra={"error": str(error)})
        if isinstance(client, OrganizationScoped):  # Linear: the receiver refuses other organizations
            try:
                self.store.service.put(f"{tracker}.organization_id", client.organization_id(), self.clock())
            except TrackerError as error:
                log.warning("tracker.%s.organization_failed", tracker, extra={"error": str(error)})
        return me

    def _complete(self, event: Event, mirrored: Item | None, now: datetime) -> Item:
        """A partial item is completed from the tracker, else from the mirror; never guessed.

        An update lacking only when its status was entered takes that from the mirror when
        `integration.status_entry` says the mirror's is good (no tracker round trip); a Linear
        comment takes the mirror's copy itself (not stored again) while Linear gave it recently
        (`integration.trackers.linear.fresh`). When neither can, the item stays partial: the
        engine skips every rule that reads a field the payload did not carry, and the mirror
        is not overwritten with placeholders.
        """
        item, entries = event.item, self.status_entries
        if not item.is_partial:
            if entries is not None:
                entries.carried(event, mirrored)
            return item
        client = self.clients.get(event.tracker.value)
        if client is not None:
            reused = entries.from_mirror(event, mirrored) if entries is not None else None
            if reused is not None:
                return reused
            synced = self.store.mirror.synced_at(event.tracker.value, item.id) if mirrored is not None else None
            if (held := comment_issue_from_mirror(event, mirrored, synced, now)) is not None:
                return held
            try:
                read = client.get_item(item.key or item.id)
                if entries is not None:
                    entries.learned(read, mirrored)
                return read
            except NotFound:
                return item
            except TrackerError as error:
                if error.retryable:
                    raise RetryLater(f"refetching {item.key}: {error}") from error
                raise
        if mirrored is None:
            return item
        if mirrored.updated_at is not None and event.occurred_at < mirrored.updated_at:
            return mirrored  # an older delivery (late or retried) never rolls the mirror back
        known = {name: getattr(item, name) for name in _FIELDS if name not in item.unknown}
        return replace(mirrored, **known, unknown=mirrored.unknown & item.unknown)

    def _mirror_as_carried(self, event: Event, item: Item) -> bool:
        """Without credentials nothing can complete an issue event: mirror what it carries.

        The fields it did not carry stay listed as unknown in the mirror (Linear's Issue
        webhooks carry no relations), so reports work and no rule reads a guess.
        """
        return (
            event.tracker.value not in self.clients
            and event.kind in (EventKind.CREATED, EventKind.UPDATED)
            and not {"status", "title"} & item.unknown
        )

    def _skip(self, event: Event, now: datetime, reason: str, settled: list[AuditEntry]) -> str:
        settled.append(_event_entry(event, now, Outcome.SKIPPED, reason))
        return f"skipped: {reason}"


DUPLICATE = "duplicate: already processed"

# Kinds that write or end before the item's mirror row: their delivery is started on its own, first
_BEGUN_FIRST = frozenset({EventKind.DELETED, EventKind.LABEL_CHANGED})


class ProcessedBefore(Exception):
    """The delivery reached its end in an earlier run: the transaction that found it is rolled back."""


class Settled(list[AuditEntry]):
    """The job's no-write audit entries, settled with the delivery; `begun`: the delivery's start is
    committed; `finished`: its end was already written with the decisions (`Pipeline._finishing`)."""

    begun = False
    finished = False


def _outcome(entries: list[AuditEntry]) -> str:
    return ", ".join(f"{e.rule}:{e.action}:{e.outcome.value}" for e in entries) or "no action"


def _no_action_entry(plan: Plan, event: Event, now: datetime) -> AuditEntry:
    reasons = {n.rule: n.reason for n in plan.no_actions[:20]}
    summary = f"no rule acted ({len(plan.no_actions)} evaluated)"
    return _event_entry(event, now, Outcome.SKIPPED, summary, reasons=reasons)


_FIELDS = tuple(f for f in Item.__dataclass_fields__ if f not in {"tracker", "id", "unknown", "custom"})


def _event_entry(event: Event, now: datetime, outcome: Outcome, reason: str, **detail: object) -> AuditEntry:
    return AuditEntry(
        at=now,
        tracker=event.tracker.value,
        item_key=event.item.key,
        rule=None,
        action=event.kind.value,
        outcome=outcome,
        reason=reason,
        delivery_id=event.delivery_id,
        detail={"event": event.source_type, **detail},
    )
