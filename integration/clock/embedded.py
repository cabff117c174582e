"""The embedded default's clock: with no REDIS_URL, due sweeps run in a thread of `flowkeeper serve`.

Every `poll_seconds` it asks each scheduled rule whether a run is due (its last start
against its cron or interval) and runs due sweeps one after another in this process,
with the database as the lease, so a second process serving the same database does not
run them twice. Reconciles run on their own interval the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from integration.clock.periodic import PERIODIC
from integration.services import Services, utcnow
from integration.settings_sweeps import SweepSettings
from integration.sweeps.dispatch import run_inline
from integration.sweeps.schedule import EMBEDDED_POLL_SECONDS, SweepTarget, sweep_targets, why_no_sweeps
from integration.sweeps.sweep import Step, Sweeper
from integration.sweeps.sync import reconcile, reconcile_due

log = logging.getLogger("flowkeeper.sweeps.embedded")


class Stopping(Exception):
    """The process is shutting down: leave the sweep where it is (its lease lapses)."""


class EmbeddedScheduler:
    def __init__(self, services: Services, settings: SweepSettings | None = None, *, poll_seconds: float = EMBEDDED_POLL_SECONDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.services = services
        self.settings = settings or services.settings.sweeps
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._not_before: dict[tuple[str, str], datetime] = {}

    def start(self) -> None:
        why = why_no_sweeps(self.services.rules.current(), set(self.services.clients), self.settings)
        if why is not None:
            log.warning("sweeps.embedded.none: the in-process clock registered no sweeps: %s", why)
        self._thread = threading.Thread(target=self._run, name="flowkeeper-sweeps", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Stopping:
                break
            except Exception:  # a failing pass must not stop the clock
                log.exception("sweeps.embedded.error")
            self._stop.wait(self.poll_seconds)
        log.info("sweeps.embedded.stopped")

    def tick(self) -> list[str]:
        """One pass: run every due sweep, then every due reconcile. Returns what happened."""
        done = []
        runs = self.services.store.sweep_runs
        for target in sweep_targets(self.services.rules.current(), set(self.services.clients), self.settings):
            now = self.clock()
            key = (target.rule, target.tracker)
            if now < self._not_before.get(key, now) or not target.schedule.is_due(
                    runs.last_started(target.rule, target.tracker), now):
                continue
            done.append(self._sweep(target, now))
        done += self._reconciles()
        done += self._housekeeping(self.clock())
        return done

    def _housekeeping(self, now: datetime) -> list[str]:
        """Each periodic job when due (digests hourly, retention daily), as `flowkeeper cron` enqueues them."""
        done = []
        for job in PERIODIC:
            if now >= self._not_before.get((job.name, ""), now):
                self._not_before[(job.name, "")] = now + job.every
                done.append(f"{job.name}: {job.inline(self.services, now)}")
        return done

    def _sweep(self, target: SweepTarget, now: datetime) -> str:
        sweeper = Sweeper(self.services, self.settings, clock=self.clock)
        started = sweeper.start(target.rule, target.tracker, "embedded")
        if started.run_id is None:  # disabled, held, running elsewhere: ask again at the next tick
            self._not_before[(target.rule, target.tracker)] = target.schedule.next_after(now)
            return started.message
        run_inline(sweeper, started.next, sleep=self._pause, max_wait=self.poll_seconds * 4,
                   on_step=self._check_stop)
        return started.message

    def _pause(self, seconds: float) -> None:
        """Wait for a rate limit to recover, but wake up at once when the process stops."""
        self._stop.wait(seconds)

    def _check_stop(self, _step: Step) -> None:
        if self._stop.is_set():
            raise Stopping()

    def _reconciles(self) -> list[str]:
        every = self.settings.reconcile_every
        if every is None:
            return []
        done = []
        for tracker in sorted(self.services.clients):
            if reconcile_due(self.services, tracker, every, self.clock()):
                done.append(reconcile(self.services, tracker, clock=self.clock).describe())
        return done
