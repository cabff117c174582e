"""`flowkeeper worker`: RQ's worker on REDIS_URL, with its scheduler so retry intervals fire.

The default is RQ's SimpleWorker (no fork per job: several times the throughput); a job
is still retried after a crash, because every job carries a `Retry` and maintenance
hands abandoned jobs back. `--fork` runs RQ's classic fork-per-job worker.

Two things RQ does not do on its own, and Flowkeeper needs:
- **Ride out a Redis outage.** RQ's work loop quits on the first Redis error outside
  its dequeue. Here a job that ended while Redis was away keeps its outcome (recording
  it waits for Redis, with backoff), and the worker itself starts over once Redis answers.
- **Hand back a dead worker's job within a minute or two**, not after the job's 300 s
  timeout plus RQ's 10-minute maintenance: a running job's claim in the started
  registry lives `HEARTBEAT_TTL` seconds and is renewed every `HEARTBEAT_EVERY` seconds
  while the job runs; maintenance runs every `MAINTENANCE_EVERY` seconds.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.registry import clean_registries
from rq.worker import BaseWorker, WorkerStatus
from rq.worker_registration import clean_worker_registry

from integration.jobs import use_services
from integration.observability import bind_figures, record
from integration.queue import QUEUE_NAME, is_delivery
from integration.redis_persistence import warn_without_persistence
from integration.services import build_services
from integration.settings import Settings
from integration.store.kept_start import fill_missing

log = logging.getLogger("flowkeeper.worker")

HEARTBEAT_TTL = 60  # seconds a running job's claim lives without a heartbeat
HEARTBEAT_EVERY = 15
HEARTBEAT_TICK = 1.0  # how often the heartbeat thread looks at the running job
MAINTENANCE_EVERY = 30  # abandoned jobs are looked for this often (RQ's default: 10 minutes)
WORKER_TTL = 60  # a dead worker leaves the worker count within about two minutes
OWN_KEY_SPACING = 1.0  # seconds: a busy worker renews its own key at most this often (RQ: several times a job)
OWN_KEY_MARGIN = 50  # seconds the key must still live to skip a renewal: past a dequeue's 45 s wait
COMMAND_POLL = 1.0  # seconds the command-channel thread waits per read: its share of a SIGTERM's exit time
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)  # waits between attempts while Redis is away
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)

T = TypeVar("T")


def until_redis_answers(step: Callable[[], T], what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `step`, waiting out a Redis outage with backoff: an outcome is never dropped for it."""
    for attempt in range(1_000_000):
        try:
            return step()
        except REDIS_DOWN as error:
            wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            log.warning("worker.redis_away", extra={"step": what, "error": type(error).__name__, "retry_in": wait})
            sleep(wait)
    raise AssertionError("unreachable")


class ResilientWorkerMixin:
    """Outcomes that wait for Redis, quick maintenance with a short lock, a short-lived job claim,
    and an exit within a couple of seconds of SIGTERM when no job is running."""

    # every delivery job's result lives the dedupe window: a line a job saying so tells nothing, and
    # writing it cost the no-write path about as much as its two cheapest SQL statements
    log_result_lifespan = False

    connection: redis.Redis
    worker_ttl: int
    _state: str
    queues: list[Queue]
    log: Any
    name: str
    pubsub: Any
    pubsub_thread: Any
    pubsub_channel_name: str
    handle_payload: Callable[[Any], None]
    _pubsub_exception_handler: Callable[..., None]

    _own_key_renewed = -1e9  # monotonic time of the last renewal of the worker's own key
    _own_key_lives_until = -1e9  # and when that renewal lets the key expire
    _state_sent: str | None = None  # the state this worker last wrote outside a pipeline

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ renews the worker's own key (an HSET and two EXPIREs, each a round trip) before and after
        every dequeue, with a two-minute TTL: for a worker running a hundred jobs a second that is six
        round trips a job that change nothing. A renewal asked for without a pipeline or a TTL of its
        own is skipped when the last one was under `OWN_KEY_SPACING` ago and the key still lives past
        `OWN_KEY_MARGIN`; every other renewal is sent as RQ sends it."""
        now = time.monotonic()
        plain = timeout is None and pipeline is None
        if plain and now - self._own_key_renewed < OWN_KEY_SPACING and self._own_key_lives_until - now > OWN_KEY_MARGIN:
            return
        super().heartbeat(timeout, pipeline)  # type: ignore[misc]
        self._own_key_renewed = now
        self._own_key_lives_until = now + (timeout or self.worker_ttl + 60)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        """RQ writes IDLE after a job and again as it starts waiting for the next: the second write,
        a round trip a job, is skipped when nothing else was written in between."""
        if pipeline is None and state == self._state_sent:
            self._state = state
            return
        super().set_state(state, pipeline)  # type: ignore[misc]
        self._state_sent = state if pipeline is None else None

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """RQ writes the job's last heartbeat in a round trip of its own as the job ends, just before
        recording its outcome, which saves the job's whole hash, that field with it (finished, failed,
        retried or scheduled alike): the field is set here and written with the outcome."""
        job.ended_at = _utcnow()
        job.last_heartbeat = _utcnow()

    # RQ 3.0 has no public hook around recording a job's outcome: these two private methods are where
    # it writes the outcome to Redis, so they are wrapped to wait out an outage.
    # tests/reliability/test_rq_internals.py fails if RQ renames them or changes their arguments.
    def _finalize_success(self, job: Job, queue: Queue, execution: Any, return_value: Any) -> None:
        until_redis_answers(lambda: super(ResilientWorkerMixin, self)._finalize_success(  # type: ignore[misc]
            job, queue, execution, return_value), "record a finished job")

    def _finalize_failure(self, job: Job, queue: Queue, execution: Any, exc_info: Any) -> None:
        until_redis_answers(lambda: super(ResilientWorkerMixin, self)._finalize_failure(  # type: ignore[misc]
            job, queue, execution, exc_info), "record a failed job")

    def subscribe(self) -> None:
        """RQ's command channel (stop a job, shut down), read in waits of `COMMAND_POLL` seconds.

        RQ 3.0 reads it in 60 s waits and, on shutdown, leaves the channel and then stops the
        reading thread; with redis-py 8.2 that stop waits for the thread, which has already read
        the unsubscribe reply and sits out the rest of a 60 s wait: every worker took up to a
        minute to exit after SIGTERM, past a deploy platform's grace (Heroku: 30 s). A command
        still arrives at once; only noticing the stop waits at most `COMMAND_POLL`.
        """
        # RQ's own subscribe() with a shorter wait; tests/reliability/test_rq_internals.py fails
        # if RQ renames the handlers it uses or a worker stops leaving its channel promptly.
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=COMMAND_POLL, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def clean_registries(self) -> None:
        """RQ's maintenance, under a lock that expires by the next round (RQ's lasts 15 minutes)."""
        for queue in self.queues:
            if self.connection.set(queue.registry_cleaning_key, 1, nx=True, ex=MAINTENANCE_EVERY):
                clean_registries(queue, getattr(self, "_exc_handlers", None))
                clean_worker_registry(queue)
                queue.intermediate_queue.cleanup(self, queue)  # type: ignore[arg-type]
        self.last_cleaned_at = _utcnow()


class FlowkeeperWorker(ResilientWorkerMixin, SimpleWorker):
    """SimpleWorker whose running job keeps its claim fresh from the worker's heartbeat thread."""

    _beats: Heartbeats | None = None

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        if self._beats is None:
            self._beats = Heartbeats(self)
        with self._beats.running(job, execution):
            self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)


class FlowkeeperForkWorker(ResilientWorkerMixin, Worker):
    """RQ's fork-per-job worker; its own monitor loop renews the claim."""

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        """Runs in the job's own process, which ends with the job: it sends its figures first."""
        try:
            return bool(super().perform_job(job, queue, execution))
        finally:
            record.flush()


class WithoutRepeatedLines(logging.Filter):
    """RQ's "Job OK" line after each job says again what its "Successfully completed … job in …s"
    line said, and for a delivery Flowkeeper's `job.delivery.done` says that too, with the delivery's
    item, its outcome and the seconds it took; each line cost the no-write path about as much as two
    SQL statements. Other jobs (sweep steps, digests) keep RQ's line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.msg == _JOB_OK:
            return not (len(args) == 4 and "Job OK" in str(args[2]))
        return not (record.msg == _COMPLETED and len(args) == 3 and is_delivery(args[0]))


# RQ 3.0's templates of those lines
_JOB_OK = "Worker %s: %s: %s (%s)"
_COMPLETED = "Successfully completed %s job in %ss on worker %s"


def quiet_job_lines(logger: logging.Logger = logging.getLogger("rq.worker")) -> None:
    """Leave RQ's repeated per-job lines out of this process's log (once, however often called)."""
    if not any(isinstance(f, WithoutRepeatedLines) for f in logger.filters):
        logger.addFilter(WithoutRepeatedLines())


class Heartbeats:
    """One thread per worker renews the running job's claim every `HEARTBEAT_EVERY` seconds.

    A thread started and joined for each job cost the no-write path more CPU than RQ's own
    bookkeeping of the job's start; this one looks every `HEARTBEAT_TICK` seconds and ends
    after `HEARTBEAT_TTL` seconds without a job (the next job starts it again). A beat and the
    end of its job hold one lock, so a finished job is never beaten back into the started registry.
    """

    def __init__(self, worker: BaseWorker) -> None:
        self.worker = worker
        self._lock = threading.Lock()
        self._job: tuple[Job, Any, float] | None = None  # the running job, its execution, its last beat
        self._beating = False

    @contextmanager
    def running(self, job: Job, execution: Any) -> Iterator[None]:
        with self._lock:
            self._job = (job, execution, time.monotonic())
            if not self._beating:
                self._beating = True
                threading.Thread(target=self._beat, name=f"heartbeat-{self.worker.name}", daemon=True).start()
        try:
            yield
        finally:
            with self._lock:
                self._job = None

    def _beat(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(HEARTBEAT_TICK)
            with self._lock:
                now = time.monotonic()
                if self._job is None:
                    if now - idle_since > HEARTBEAT_TTL:
                        self._beating = False
                        return
                    continue
                idle_since = now
                job, execution, last = self._job
                if now - last < HEARTBEAT_EVERY:
                    continue
                try:
                    self.worker.maintain_heartbeats(job, execution)
                except redis.RedisError:
                    pass  # Redis is away: the next beat tries again
                except Exception:  # noqa: BLE001  # this thread beats for every later job too: it must not end
                    log.exception("worker.heartbeat_failed", extra={"job_id": job.id})
                self._job = (job, execution, now)


def _utcnow() -> Any:
    from rq.utils import now

    return now()


# A worker that seems stuck writes every thread's stack to its stderr on this signal (SIGUSR1 is
# gunicorn's and RQ's business elsewhere; RQ's horses use SIGRTMIN).
STACKS_SIGNAL = signal.SIGUSR2


def run_worker(settings: Settings, burst: bool = False, fork: bool = False) -> int:
    if not settings.redis_url:
        print("flowkeeper: `worker` needs REDIS_URL (without it, `serve` runs jobs in-process)", file=sys.stderr)
        return 2
    faulthandler.register(STACKS_SIGNAL, all_threads=True)  # `kill -USR2 <pid>`: where is it stuck?
    services = build_services(settings)
    fill_missing(services.store.engine)  # kept report figures an upgrade brought in empty, once
    use_services(services)
    bind_figures(services.redis)
    assert services.redis is not None
    warn_without_persistence(services.redis)
    if fork:  # a forked job must not share the parent's database connections
        os.register_at_fork(after_in_child=lambda: services.store.engine.dispose(close=False))
    worker_class = FlowkeeperForkWorker if fork else FlowkeeperWorker
    quiet_job_lines()
    try:
        return _work(services.redis, worker_class, burst)
    finally:
        record.flush()  # figures are sent every few seconds: what is left goes before the worker ends


def _work(connection: redis.Redis, worker_class: type[BaseWorker], burst: bool) -> int:
    attempt = 0
    while True:
        worker = worker_class([QUEUE_NAME], connection=connection, worker_ttl=WORKER_TTL,
                              maintenance_interval=MAINTENANCE_EVERY)
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
        except redis.RedisError as error:  # RQ's own start-up or teardown met the outage
            log.warning("worker.redis_error", extra={"error": type(error).__name__})
        if burst or _asked_to_stop(worker):
            return 0
        try:
            attempt = _wait_for_redis(connection, attempt)
        except StopRequested:  # SIGTERM while waiting: RQ's handler asks to stop, and so we do
            return 0


def _asked_to_stop(worker: BaseWorker) -> bool:
    """SIGTERM/SIGINT reached RQ's handler (idle workers leave only the request's date behind)."""
    # RQ 3.0 keeps these two private (no public "was a stop requested?"); tests/reliability/test_rq_internals.py
    # fails if a fresh worker stops having them.
    return bool(worker._stop_requested or getattr(worker, "_shutdown_requested_date", None))


def _wait_for_redis(connection: redis.Redis, attempt: int) -> int:
    """Back off until Redis answers again; the next backoff step, for a worker that quits again at once."""
    while True:
        time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        attempt += 1
        try:
            connection.ping()
        except redis.RedisError:
            continue
        log.info("worker.restarting", extra={"attempts": attempt})
        return attempt if attempt <= 1 else 0
