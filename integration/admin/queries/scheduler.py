"""The Overview's scheduler line: what the clock is doing, in words.

Which sweeps are scheduled (or why none are), whether a clock is there to fire them, the
sweep running now and the last one that finished — from the rule set, the settings, the
heartbeats already read for the queue card and the sweep runs table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from integration.admin.queries.queue import QueueHealth
from integration.services import Services
from integration.store.sweep_runs import ACTIVE, Run
from integration.sweeps.schedule import EMBEDDED_POLL_SECONDS, describe_targets, sweep_targets, why_no_sweeps


@dataclass(frozen=True)
class SchedulerStatus:
    doing: str  # one or two sentences
    ok: bool  # False: nothing will sweep until an operator acts
    running: Run | None = None
    last: Run | None = None


def scheduler_status(services: Services, queue: QueueHealth, now: datetime) -> SchedulerStatus:
    settings = services.settings.sweeps
    ruleset, configured = services.rules.current(), set(services.clients)
    runs = services.store.sweep_runs.recent(limit=20)
    running = next((r for r in runs if r.state in ACTIVE), None)
    last = next((r for r in runs if r.state not in ACTIVE), None)
    why = why_no_sweeps(ruleset, configured, settings)
    if why is not None:
        return SchedulerStatus(f"No sweeps are scheduled: {why}.", False, running, last)
    targets = list(sweep_targets(ruleset, configured, settings))
    scheduled = f"{len(targets)} sweep{'s' if len(targets) != 1 else ''} scheduled ({describe_targets(targets)})"
    if queue.backend != "redis":
        return SchedulerStatus(f"The clock inside this process checks for due sweeps every "
                               f"{EMBEDDED_POLL_SECONDS:g} s: {scheduled}.",
                               True, running, last)
    if not any(h.kind == "cron" and not h.stale(now) for h in queue.heartbeats):
        return SchedulerStatus(f"No clock is running, so nothing is swept: start one `flowkeeper cron` — "
                               f"{scheduled} wait for it.", False, running, last)
    return SchedulerStatus(f"The clock (`flowkeeper cron`) enqueues {scheduled}; workers run them.", True,
                           running, last)
