"""One sweep of one rule on one tracker, as a chain of small idempotent steps.

start → plan page 0 … plan page N → (hold for approval | apply chunk 0 … apply chunk M) → done.

Each step reads the run's recorded progress and does nothing when its work is already
recorded, so a retried or duplicated job is harmless; each returns the next step for the
dispatcher (RQ jobs, or a loop in the embedded scheduler and the CLI). A lease held for
the whole chain keeps a second sweep of the same rule and tracker from starting, and the
run's start time keeps two schedulers firing the same tick from running it twice.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from integration.codec import from_jsonable, to_jsonable
from integration.judge import Judge
from integration.services import Services, utcnow
from integration.settings_sweeps import SweepSettings
from integration.store.audit import AuditEntry, Outcome
from integration.store.sweep_runs import ACTIVE, Run, lease_name
from integration.sweeps.applier import SWEEP_WRITE_RETRY, ApplyingContext, apply_rows
from integration.sweeps.blast import blast_limit, hold_reason, scope_size, write_budget
from integration.sweeps.locks import Leases, leases_for
from integration.sweeps.planner import PlanningContext, plan_page, plan_unchanged
from integration.sweeps.reread import read_again
from integration.sweeps.schedule import rule_schedule
from integration.trackers.base import RateLimited, TrackerError
from rules.engine import effective
from rules.model import EvalContext, Item, SearchQuery, StatusCategory, Tracker
from rules.ruleset import Rule

log = logging.getLogger("flowkeeper.sweeps")
FROM_MIRROR = "mirror:"  # a page token past the tracker's pages: the follow-up's unchanged candidates
FOLLOW_UP_MARGIN = timedelta(minutes=5)  # changes this close before the last run began are read again
FULL_SWEEP_EVERY = timedelta(days=1)  # a full sweep at least this often, whatever the mirror says


@dataclass(frozen=True)
class PlanPage:
    run_id: str
    page: int


@dataclass(frozen=True)
class ApplyChunk:
    run_id: str
    chunk: int


Step = PlanPage | ApplyChunk


@dataclass(frozen=True)
class Later:
    """Run `step` again after `seconds` (the tracker asked us to slow down)."""

    step: Step
    seconds: float
    why: str


Next = Step | Later | None


@dataclass(frozen=True)
class Started:
    run_id: str | None
    message: str
    next: Next = None


class RetryStep(Exception):
    """A step failed for a reason that may pass: the job queue retries it."""


class Sweeper:
    def __init__(self, services: Services, settings: SweepSettings | None = None, *, leases: Leases | None = None,
                 clock=utcnow, force_dry_run: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.services = services
        self.store = services.store
        self.settings = settings or services.settings.sweeps
        self.leases = leases or leases_for(services.redis, services.store.engine)
        self.clock = clock
        self.force_dry_run = force_dry_run
        self.runs = self.store.sweep_runs
        self.writes = self.store.sweep_writes
        self.batches = self.store.held_batches

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.lock_seconds)

    # ---- start --------------------------------------------------------------------------
    def start(self, rule_name: str, tracker: str, trigger: str = "cron", force: bool = False) -> Started:
        """Begin a sweep unless one is running, ran for this slot already, or cannot run."""
        rule = self.services.rules.current().rule(rule_name)
        refusal = self._refusal(rule, rule_name, tracker)
        if refusal is not None or rule is None:
            log.info("sweep.not_started", extra={"rule": rule_name, "tracker": tracker, "why": refusal})
            return Started(None, refusal or f"no rule named {rule_name!r}")
        run_id, now = uuid.uuid4().hex, self.clock()
        lease = lease_name(rule.name, tracker)
        if not self.leases.acquire(lease, run_id, self.ttl):
            holder = self.leases.holder(lease)
            if holder:
                self.runs.note(holder, "overlapping_starts", now)
            return Started(None, f"a sweep of {rule.name} on {tracker} is still running (run {holder}): not stacked")
        recent = None if force else self._ran_this_slot(rule, tracker, now)
        if recent is not None:
            self.leases.release(lease, run_id)
            return Started(None, recent)
        for stale in self.runs.active(rule.name, tracker):
            self.runs.move(stale, "abandoned", now, reason="its lease lapsed; a newer run took over", finished=True)
        query = self.candidates(rule, tracker, now)
        since = self.follow_up_since(rule, tracker, query, now)
        if since is not None:
            query = replace(query, changed_since=since)
        self.runs.create(run_id, rule.name, tracker, trigger, now, to_jsonable(query), self.force_dry_run)
        log.info("sweep.started", extra={"rule": rule.name, "tracker": tracker, "run": run_id})
        return Started(run_id, f"sweep of {rule.name} on {tracker} started (run {run_id})", PlanPage(run_id, 0))

    def candidates(self, rule: Rule, tracker: str, now: datetime) -> SearchQuery:
        """What to ask the tracker for: the rule's pushdown, never dropping a possible match."""
        return rule.pushdown(now)

    def follow_up_since(self, rule: Rule, tracker: str, query: SearchQuery, now: datetime) -> datetime | None:
        """When the last run of the same search completed, ask only for what changed since it began
        (with a margin); the other candidates are judged from the mirror, which webhooks keep fresh.
        A full sweep runs when no webhook came from the tracker for a day, when the search moves with
        time (an `updated`/`created` bound admits items nobody changed), when it carries the rule's own
        filter (the mirror cannot evaluate it), and at least once a day."""
        if query.updated_before or query.created_before or query.created_after or query.extra:
            return None
        heard = self.store.deliveries.last_received(tracker)
        if heard is None or heard["received_at"] < now - FULL_SWEEP_EVERY:
            return None
        done = self.runs.finished(rule.name, tracker, now - FULL_SWEEP_EVERY)
        if not done or not any(r.query.get("changed_since") is None for r in done):
            return None
        last = done[0]
        if {**last.query, "changed_since": None} != to_jsonable(query):
            return None  # the rule's search changed: its new candidates are not in the mirror yet
        return last.started_at - FOLLOW_UP_MARGIN

    def _refusal(self, rule: Rule | None, name: str, tracker: str) -> str | None:
        if rule is None:
            return f"no rule named {name!r}"
        if tracker not in {t.value for t in Tracker}:
            return f"unknown tracker {tracker!r} (jira or linear)"
        if Tracker(tracker) not in rule.trackers:
            return f"rule {name} does not apply to {tracker}"
        if tracker not in self.services.clients:
            return f"{tracker} is not configured (no credentials): nothing to search"
        enabled, _dry = effective(rule, EvalContext(overrides=self.store.overrides.all()))
        if not enabled:
            return f"rule {name} is disabled"
        waiting = self.batches.waiting(name, tracker)
        if waiting is not None:
            return f"held writes of {name} on {tracker} await a decision (batch {waiting.id}): sweeps paused"
        return None

    def _ran_this_slot(self, rule: Rule, tracker: str, now: datetime) -> str | None:
        last = self.runs.last_started(rule.name, tracker)
        schedule = rule_schedule(rule, self.settings)
        if last is None or schedule is None:
            return None
        if schedule.same_slot(last, now):
            return f"{rule.name} on {tracker} already ran at {last:%H:%M:%S} for this slot ({schedule.describe()})"
        return None

    # ---- steps ----------------------------------------------------------------------------
    def run_step(self, step: Step) -> Next:
        if isinstance(step, PlanPage):
            return self.plan_page(step.run_id, step.page)
        return self.apply_chunk(step.run_id, step.chunk)

    def plan_page(self, run_id: str, page: int) -> Next:
        run = self.runs.get(run_id)
        if run.state != "planning" or page != run.pages:
            return self._resume(run) if run.state == "planning" and page < run.pages else None
        rule = self._live_rule(run)
        if rule is None:
            return None
        client = self.services.clients[run.tracker]
        query = from_jsonable(SearchQuery, run.query)
        token = run.next_token if page else None
        try:
            if token is not None and token.startswith(FROM_MIRROR):
                items, next_token, stats = self._unchanged_page(run, rule, query, token)
            else:
                found = client.search(query, token, self.settings.page_size)
                items, next_token = found.items, found.next_token
                stats = plan_page(self._planning(run, rule), items)
                if next_token is None and query.changed_since is not None:
                    next_token = FROM_MIRROR  # then the candidates nobody changed, from the mirror
        except RateLimited as error:
            return self._later(run, PlanPage(run.id, page), error.retry_after, str(error))
        except TrackerError as error:
            if error.retryable:
                raise RetryStep(f"searching {run.tracker}: {error}") from error
            return self._fail(run, f"the tracker refused the sweep's search: {error}")
        if not self.runs.advance_page(run, next_token, len(items), stats, self.clock()):
            return None
        if next_token:
            return PlanPage(run.id, page + 1)
        return self._planned(self.runs.get(run.id), rule)

    def _unchanged_page(self, run: Run, rule: Rule, query: SearchQuery,
                        token: str) -> tuple[Sequence[Item], str | None, dict[str, int]]:
        """A follow-up's page of candidates the tracker has not changed since the last run, from the mirror."""
        assert query.changed_since is not None
        categories = () if StatusCategory.UNKNOWN in query.status_categories else query.status_categories
        items = self.store.mirror.unchanged(
            run.tracker, query.changed_since, run.as_of, teams=query.teams,
            categories=[c.value for c in categories], after=token[len(FROM_MIRROR):], limit=self.settings.page_size)
        client = self.services.clients[run.tracker]
        stats = plan_unchanged(self._planning(run, rule), items, lambda acting: read_again(client, acting))
        more = FROM_MIRROR + items[-1].id if len(items) == self.settings.page_size else None
        return items, more, stats

    def _resume(self, run: Run) -> Next:
        """A retried page whose work is recorded: hand on to the step after it."""
        if run.next_token:
            return PlanPage(run.id, run.pages)
        rule = self._live_rule(run)
        return self._planned(run, rule) if rule is not None else None

    def _planned(self, run: Run, rule: Rule) -> Next:
        """Every page judged: hold the lot, apply it, or finish (decided once, by one job)."""
        now = self.clock()
        if not self.runs.move(run, "deciding", now):
            return None
        run = self.runs.get(run.id)
        self.writes.supersede_stale(rule.name, run.tracker, run.id, now)
        changed = self.writes.count(run.id, "planned")
        scope = scope_size(self.store, run.tracker, rule.teams, run.candidates)
        limit = blast_limit(self.settings, scope, rule.sweep_limits)
        stats = {"scope": scope, "would_hold": int(int(run.stats.get("dry_items", 0)) > limit)}
        if changed > limit:
            return self._hold(run, rule, changed, scope, stats)
        if changed == 0:
            return self._finish(run, "done", f"nothing to write ({run.candidates} candidates)", stats)
        if not self.runs.move(run, "applying", now, stats=stats):
            return None
        return ApplyChunk(run.id, 0)

    def apply_chunk(self, run_id: str, chunk: int) -> Next:
        run = self.runs.get(run_id)
        if run.state != "applying" or chunk != run.chunks:
            return None
        rule = self._live_rule(run)
        if rule is None:
            return None
        rows = self.writes.next_for_run(run.id, self.settings.page_size)
        if not rows:
            return self._retry_set_aside(run, chunk)
        left = write_budget(self.settings, rule.sweep_limits) - int(run.stats.get("writes", 0))
        result = apply_rows(self._applying(run, rule), rows, left)
        asked = max(int(run.stats.get("retry_after", 0)), math.ceil(result.retry_after or 0))
        if not self.runs.advance_chunk(run, result.stats, self.clock(), kept={"retry_after": asked} if asked else None):
            return None
        run = self.runs.get(run.id)
        if result.budget_spent:
            deferred = self.writes.defer_rest(run.id, self.clock())
            return self._finish(run, "done", f"{result.why}: {deferred} items wait for the next run, first in line",
                                stats={"deferred_items": deferred})
        if result.wait:
            return self._later(run, ApplyChunk(run.id, chunk + 1), result.wait, result.why)
        return ApplyChunk(run.id, chunk + 1)

    def _retry_set_aside(self, run: Run, chunk: int) -> Next:
        """Every other write made: try again the writes that failed for a reason that may pass,
        after the wait the tracker asked for or the backoff; after the last try they wait for the next run."""
        waiting = self.writes.count(run.id, "retrying")
        if not waiting:
            return self._finish(run, "done", "all planned writes made")
        tries = int(run.stats.get("retry_rounds", 0)) + 1
        if tries >= SWEEP_WRITE_RETRY.tries:
            return self._finish(run, "done", f"{waiting} items failed {tries} times for reasons that may pass "
                                "(rate limit, 5xx): they wait for the next run, first in line",
                                stats={"deferred_items": waiting})
        asked = int(run.stats.get("retry_after", 0))
        if not self.runs.advance_chunk(run, {"retry_rounds": 1}, self.clock(), kept={"retry_after": 0}):
            return None
        self.writes.retry(run.id, self.clock())
        wait = SWEEP_WRITE_RETRY.wait(tries, asked or None)
        return self._later(self.runs.get(run.id), ApplyChunk(run.id, chunk + 1), wait,
                           f"{waiting} writes failed for a reason that may pass (rate limit, 5xx): trying again")

    # ---- endings ----------------------------------------------------------------------------
    def _hold(self, run: Run, rule: Rule, changed: int, scope: int, stats: dict[str, int]) -> Next:
        now = self.clock()
        reason = hold_reason(changed, scope, self.settings, rule.sweep_limits)
        batch = self.batches.create(run.rule, run.tracker, run.id, changed, scope, reason, now)
        self.writes.hold(run.id, batch, now)
        entries = [
            AuditEntry(at=now, tracker=run.tracker, item_key=w.item_key, rule=run.rule, action="sweep",
                       outcome=Outcome.HELD, reason=f"held for approval (batch {batch}): {w.summary}",
                       detail={"batch": batch, "run": run.id})
            for w in self.writes.for_batch(batch)
        ]
        self.store.audit.record(entries)
        return self._finish(run, "held", f"{reason} (batch {batch})", stats={**stats, "held_items": changed})

    def _finish(self, run: Run, state: str, reason: str, stats: dict[str, int] | None = None) -> Next:
        now = self.clock()
        if state == "done":
            self.writes.defer_rest(run.id, now)
        self.runs.move(run, state, now, reason=reason, stats=stats, finished=True)
        self.leases.release(run.lease, run.id)
        self._summary(self.runs.get(run.id))
        log.info("sweep.finished", extra={"rule": run.rule, "tracker": run.tracker, "run": run.id, "state": state})
        return None  # the chain of steps ends here

    def _fail(self, run: Run, reason: str) -> Next:
        return self._finish(run, "failed", reason)

    def fail(self, run_id: str, reason: str) -> None:
        """The job queue gave up on a step: record why, and let the next run start."""
        run = self.runs.get(run_id)
        if run.state in ACTIVE:
            self._fail(run, reason)

    def _summary(self, run: Run) -> None:
        """One audit entry per sweep that did or held something, or failed: nothing fails silently."""
        s = run.stats
        busy = any(int(s.get(k, 0)) for k in ("planned_items", "dry_items", "held_items", "deferred_items"))
        if not busy and run.state != "failed":
            return
        outcome = {"failed": Outcome.FAILED, "held": Outcome.HELD}.get(run.state, Outcome.DONE)
        text = (f"sweep of {run.candidates} candidates: {s.get('applied_items', 0)} changed, "
                f"{s.get('dry_items', 0)} would change (dry run), {s.get('deferred_items', 0)} deferred, "
                f"{s.get('held_items', 0)} held — {run.reason}")
        self.store.audit.record([AuditEntry(at=self.clock(), tracker=run.tracker, rule=run.rule, action="sweep",
                                            outcome=outcome, reason=text, detail={"run": run.id, **dict(s)})])

    def _later(self, run: Run, step: Step, seconds: float | None, why: str) -> Later:
        wait = max(1.0, float(seconds or 30.0))
        self.leases.extend(run.lease, run.id, self.ttl + timedelta(seconds=wait))
        self.runs.note(run.id, "slowed_down", self.clock())
        return Later(step, wait, why)

    # ---- helpers ----------------------------------------------------------------------------
    def _live_rule(self, run: Run) -> Rule | None:
        """Renew the lease and find the rule; a run that lost either ends here."""
        if not self.leases.extend(run.lease, run.id, self.ttl):
            self.runs.move(run, "abandoned", self.clock(), reason="lost its lease (another run took over)",
                           finished=True)
            return None
        rule = self.services.rules.current().rule(run.rule)
        if rule is None:
            self._fail(run, f"rule {run.rule} no longer exists (rule files changed)")
        return rule

    def _judge(self, run: Run) -> Judge:
        """The step's judge: a run started with `--dry-run` stays dry whatever the deployment says."""
        return self.services.judge(run.tracker, forced_dry=run.dry_run)

    def _planning(self, run: Run, rule: Rule) -> PlanningContext:
        return PlanningContext(store=self.store, tracker=run.tracker, judge=lambda: self._judge(run), run_id=run.id,
                               rule=rule, as_of=run.as_of, clock=self.clock,
                               client=self.services.clients.get(run.tracker))

    def _applying(self, run: Run, rule: Rule) -> ApplyingContext:
        return ApplyingContext(store=self.store, tracker=run.tracker, rule=rule, judge=lambda: self._judge(run),
                               item_lock=self.services.item_lock, clock=self.clock, run_id=run.id)
