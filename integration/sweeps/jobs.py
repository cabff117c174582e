"""RQ jobs for sweeps: importable functions taking plain JSON-able arguments.

`start_sweep` is what `flowkeeper cron` schedules; it starts a run (or explains why not)
and enqueues the first page. `sweep_step` runs one page or apply chunk and enqueues the
next. `reconcile` repairs the mirror. All of them build their services once per worker.
"""

from __future__ import annotations

import logging
from typing import Any

from integration.jobs import worker_services
from integration.sweeps.dispatch import RqDispatch, step_from_args
from integration.sweeps.sweep import Sweeper

log = logging.getLogger("flowkeeper.sweeps")


def _dispatch() -> RqDispatch:
    services = worker_services()
    assert services.redis is not None, "sweep jobs run on RQ workers, which need REDIS_URL"
    return RqDispatch(services.redis)


def start_sweep(rule: str, tracker: str, trigger: str = "cron", force: bool = False) -> str:
    started = Sweeper(worker_services()).start(rule, tracker, trigger, force)
    _dispatch().send(started.next)
    log.info("sweep.start", extra={"rule": rule, "tracker": tracker, "outcome": started.message})
    return started.message


def sweep_step(kind: str, run_id: str, number: int) -> str:
    next_step = Sweeper(worker_services()).run_step(step_from_args(kind, run_id, number))
    _dispatch().send(next_step)
    return f"{kind} {number} of run {run_id} done; next: {next_step}"


def step_failed(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback: once a step's retries are spent, the run fails visibly."""
    if job.retries_left:
        return
    try:
        _kind, run_id, _number = job.args
        Sweeper(worker_services()).fail(run_id, f"a step failed after its retries: {exc_type.__name__}: {exc_value}")
    except Exception:  # the callback must never hide the original failure
        log.exception("sweep.step.fail_callback_error")


def approve_held(batch_id: int, by: str) -> str:
    """A held batch approved from the admin page, applied by a worker."""
    from integration.sweeps.held import approve

    return approve(worker_services(), batch_id, by=by).describe()


def reconcile(tracker: str) -> str:
    from integration.services import utcnow
    from integration.sweeps.sync import reconcile as run_reconcile
    from integration.sweeps.sync import reconcile_due

    services = worker_services()
    every = services.settings.sweeps.reconcile_every
    if every is not None and not reconcile_due(services, tracker, every, utcnow()):
        return f"{tracker} reconcile skipped: it ran less than {every / 2} ago"
    return run_reconcile(services, tracker).describe()
