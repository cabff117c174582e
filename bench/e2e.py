"""End to end: signed webhooks → gunicorn → Redis → worker → write-back at the stub tracker.

Measures, in one run on loopback:
- throughput: a queue of N deliveries (one item each, so each ends in one comment) drained
  by one `flowkeeper worker`, by two, and by one RQ fork-per-job worker (`--fork`);
  events/s from the moment every worker has finished its first job to the last write (workers
  started together come up a few hundred milliseconds apart: counting from the first write put
  the later one's start-up into the two-worker run alone);
- latency: deliveries sent at a steady rate to two workers; receipt → write at the stub,
  p50 and p99 (and the same with the fork worker);
- CPU in that same window, per event, by role (worker, web, Redis, stub, this process), and the
  share of the machine's cores busy in all and used by processes outside the bench (`bench/cpu.py`);
- the no-write path: a later update to each item already commented on (one comment per
  episode, so no write) drained by one worker, beside RQ's own rate for an empty job on
  the same Redis (SimpleWorker, burst); both from the jobs' end times, first to last;
- SQLite's write lock per event in each of those runs, from the workers' own figures
  (`flowkeeper_db_write_*` in /metrics): write transactions, how many of their BEGINs waited
  for another worker's lock, the milliseconds waited, and the milliseconds they held it
  (`db_1_worker`, `db_2_workers`, `db_noop_1_worker`; zero on PostgreSQL, where nothing takes a database-wide lock).
With `--rounds R` the one- and two-worker runs alternate R times, and so do the no-write path and
RQ's empty job: this machine's speed can change by half within a minute, so a ratio is only as good
as the two runs beside each other. The rates and ratios are then the medians of the rounds, each
round's ratio listed (`two_vs_one_rounds`, `noop_vs_rq_trivial_rounds`); CPU and lock figures are
the first round's. A worker that finishes no job within 120 s of its start is named on stderr with
its threads' stacks (it would make a two-worker run one worker's), and counted in
`runs_with_a_silent_worker`.
The last line is one JSON object. Usage: `python bench/e2e.py [--events 200] [--rate 25] [--rounds 1]
[--backend postgresql]` (PostgreSQL: a database made for the run at `FLOWKEEPER_BENCH_POSTGRES_URL`'s
server, dropped after; the default is SQLite in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FinishedJobRegistry  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.cpu import Meter  # noqa: E402
from integration.observability.figures import COUNTERS_KEY, parse_key  # noqa: E402
from integration.queue import QUEUE_NAME  # noqa: E402
from tests.foundation.helpers import JIRA_SECRET  # noqa: E402
from tests.reliability.soak import (  # noqa: E402
    SOAK_RULES,
    Delivery,
    _payload,
    item_key,
    seed_issues,
    send_all,
    workload,
)
from tests.reliability.stack import Stack, start_stack  # noqa: E402
from webhooks.signatures import sign_hub  # noqa: E402

WARM_UP = 6
PG_ADMIN = os.environ.get("FLOWKEEPER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    """None for the stack's own SQLite file; for PostgreSQL a fresh database, dropped afterwards."""
    if backend != "postgresql":
        yield None
        return
    name, admin = f"flowkeeper_bench_{uuid.uuid4().hex[:10]}", create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class CommentLog:
    """Item key → when the stub received the comment POST for it (wall clock).

    Read incrementally (`/_stub/requests?after=N`): the stub is one Python process the
    workers call too, and re-reading its whole request log four times a second costs it
    more the longer the run — the later (two-worker) runs would pay more than the first.
    """

    def __init__(self, stack: Stack) -> None:
        self.url, self.seen, self.times = f"{stack.stub.url}/_stub/requests", 0, {}

    def read(self) -> dict[str, float]:
        entries = requests.get(self.url, params={"after": self.seen}, timeout=10).json()
        self.seen += len(entries)
        for entry in entries:
            path = entry["path"]
            if entry["method"] == "POST" and path.startswith("/rest/api/3/issue/") and path.endswith("/comment"):
                self.times.setdefault(path.split("/")[5], entry["at"])
        return self.times


def comment_times(stack: Stack) -> dict[str, float]:
    log = _LOGS.setdefault(id(stack), CommentLog(stack))
    return log.read()


_LOGS: dict[int, CommentLog] = {}


def wait_for_comments(stack: Stack, keys: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        times = {k: t for k, t in comment_times(stack).items() if k in keys}
        if len(times) == len(keys):
            return times
        time.sleep(0.25)
    raise TimeoutError(f"only {len(times)} of {len(keys)} writes within {timeout} s")


def halt(proc: subprocess.Popen[bytes]) -> None:
    """Stop a worker once its measurement is taken; one still shutting down after 30 s is killed."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        print(f"worker {proc.pid} still running 30 s after SIGTERM: killed", file=sys.stderr)
        proc.kill()
        proc.wait(10)


DB_FIGURES = {
    "flowkeeper_db_write_transactions_total": "write_transactions_per_event",
    "flowkeeper_db_write_lock_waits_total": "lock_waits_per_event",
    "flowkeeper_db_write_lock_wait_seconds_total": "lock_wait_ms_per_event",
    "flowkeeper_db_write_lock_held_seconds_total": "lock_held_ms_per_event",
}


def db_figures(stack: Stack) -> dict[str, float]:
    """The workers' SQLite write-lock counters so far (sent to Redis by each worker as it stops)."""
    raw = Redis.from_url(stack.redis.url).hgetall(COUNTERS_KEY)
    totals = dict.fromkeys(DB_FIGURES, 0.0)
    for key, value in raw.items():
        name, _labels = parse_key(key.decode() if isinstance(key, bytes) else key)
        if name in totals:
            totals[name] += float(value)
    return totals


def db_per_event(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    per = {field: (after[name] - before[name]) / events for name, field in DB_FIGURES.items()}
    per["lock_wait_ms_per_event"] *= 1000
    per["lock_held_ms_per_event"] *= 1000
    return {field: round(value, 3) for field, value in per.items()}


def batch(first_item: int, count: int) -> list[Any]:
    """`count` deliveries for items first_item … first_item+count-1, one each."""
    posts = workload(first_item + count, first_item + count, unique=first_item + count)
    return [p for p in posts if int(p.key.split("-")[1]) > first_item]


def throughput(stack: Stack, first_item: int, count: int, workers: int, fork: bool) -> tuple[float, dict[str, float]]:
    """Events/s, and the CPU each role used per event while the queue drained, both from the moment
    every worker has finished its first job (`all_started`): workers started together do not come
    up together, and counting from the first write would put the later ones' start-up (imports,
    their first job's compiling) in the two-worker run's window and CPU, but in no one-worker run's."""
    connection = Redis.from_url(stack.redis.url)
    posts = batch(first_item, count)
    keys = {p.key for p in posts}
    send_all(stack.web, posts)  # queued while no worker runs
    before = finished(connection, QUEUE_NAME)
    started = [stack.start_worker(*(["--fork"] if fork else [])) for _ in range(workers)]
    since, seen = all_started(connection, QUEUE_NAME, before, workers, deadline=time.monotonic() + 120)
    if seen < workers:
        report_silent(stack, started, seen)
    meter, metered_from, done_before = Meter.start(), time.monotonic(), len(keys & comment_times(stack).keys())
    times = wait_for_comments(stack, keys, timeout=600)
    cpu = meter.stop(time.monotonic() - metered_from, len(keys) - done_before)
    for proc in started:
        halt(proc)
    return window_rate([t for t in times.values() if t >= since]), cpu


def all_started(connection: Redis, queue: str, before: set[str], workers: int,
                deadline: float) -> tuple[float, int]:
    """When the last of `workers` ended its first job (wall clock), and how many have; waits until each
    has, or `deadline`."""
    while True:
        firsts: dict[str, float] = {}
        for job in Job.fetch_many(sorted(finished(connection, queue) - before), connection):
            if job is not None and job.ended_at is not None and job.worker_name:
                end = job.ended_at.timestamp()
                firsts[job.worker_name] = min(end, firsts.get(job.worker_name, end))
        if len(firsts) >= workers or (firsts and time.monotonic() > deadline):
            return max(firsts.values()), len(firsts)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no job finished within the deadline ({workers} workers)")
        time.sleep(0.02)


def report_silent(stack: Stack, started: list[subprocess.Popen[bytes]], seen: int) -> None:
    """A worker that finished no job within the deadline makes this run one worker's: say so on stderr,
    with every started worker's threads' stacks (SIGUSR2, integration.worker) and its log's end."""
    for proc in started:
        proc.send_signal(signal.SIGUSR2)
    time.sleep(1)
    print(f"only {seen} of {len(started)} workers finished a job within the deadline: this run's rate is "
          "not theirs together", file=sys.stderr)
    for log in sorted(stack.folder.glob("worker-*.log")):
        print(f"--- {log.name} (last 4,000 characters)\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
    SILENT_RUNS.append(seen)


SILENT_RUNS: list[int] = []  # the workers seen in each run where fewer than started finished a job


def window_rate(stamps: list[float]) -> float:
    """Events/s from the first of `stamps` to the last."""
    span = max(stamps) - min(stamps) if stamps else 0.0
    return (len(stamps) - 1) / span if span > 0 else float(len(stamps))


def end_rate(connection: Redis, job_ids: set[str]) -> float:
    """Jobs/s from the first job's end to the last's (RQ records `ended_at` on each job)."""
    ends = sorted(
        j.ended_at.timestamp() for j in Job.fetch_many(list(job_ids), connection) if j and j.ended_at
    )
    span = ends[-1] - ends[0] if len(ends) > 1 else 0.0
    return (len(ends) - 1) / span if span > 0 else float(len(ends))


def finished(connection: Redis, queue: str) -> set[str]:
    return {
        i.decode() if isinstance(i, bytes) else i
        for i in FinishedJobRegistry(queue, connection=connection).get_job_ids()
    }


def noop_throughput(stack: Stack, count: int, round_: int = 0) -> tuple[float, dict[str, float]]:
    """A later update (the `round_`-th) to items 0…count-1, each already commented on: every job ends
    without a write. Also the CPU per event by role, from the first job's end on (the worker's start-up
    not counted)."""
    connection = Redis.from_url(stack.redis.url)
    before = finished(connection, QUEUE_NAME)
    posts = []
    for n in range(count):
        body = json.dumps(_payload(item_key(n), f"1{n + 1:04d}", round_ + 1)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign_hub(body, JIRA_SECRET),
            "X-Atlassian-Webhook-Identifier": f"noop-{round_}-{n}",
        }
        posts.append(Delivery(f"noop-{round_}-{n}", item_key(n), body, headers))
    writes = len(comment_times(stack))
    send_all(stack.web, posts)
    worker = stack.start_worker()
    deadline = time.monotonic() + 300
    while not finished(connection, QUEUE_NAME) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    meter, metered_from, done_before = Meter.start(), time.monotonic(), len(finished(connection, QUEUE_NAME) - before)
    while len(finished(connection, QUEUE_NAME) - before) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu = meter.stop(time.monotonic() - metered_from, count - done_before)
    halt(worker)
    if len(comment_times(stack)) != writes:
        raise SystemExit("the no-write batch wrote comments: it measures the wrong path")
    return end_rate(connection, finished(connection, QUEUE_NAME) - before), cpu


def rq_trivial(stack: Stack, count: int) -> float:
    """RQ's own rate for an empty job: SimpleWorker, burst, same Redis, same end-time measure."""
    connection = Redis.from_url(stack.redis.url)
    queue = Queue("bench-trivial", connection=connection)
    ids = {queue.enqueue(len, "").id for _ in range(count)}
    SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")
    return end_rate(connection, ids)


def latency(stack: Stack, first_item: int, count: int, rate: float, workers: int, fork: bool) -> list[float]:
    started = [stack.start_worker(*(["--fork"] if fork else [])) for _ in range(workers)]
    warm = batch(first_item, WARM_UP)  # first jobs compile rules and templates, open connections
    send_all(stack.web, warm)
    wait_for_comments(stack, {p.key for p in warm}, timeout=120)
    sent: dict[str, float] = {}
    for post in batch(first_item + WARM_UP, count):
        sent[post.key] = time.time()
        stack.post("jira", post.body, post.headers)
        time.sleep(max(0.0, 1 / rate - (time.time() - sent[post.key])))
    times = wait_for_comments(stack, set(sent), timeout=300)
    for proc in started:
        halt(proc)
    return sorted((times[k] - sent[k]) * 1000 for k in sent)


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="deliveries per throughput run")
    parser.add_argument("--latency-events", type=int, default=100)
    parser.add_argument(
        "--rate",
        type=float,
        default=25.0,
        help="deliveries/s in the latency runs (at most half the throughput)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the one- and two-worker runs, and the no-write and empty-job runs, this often")
    args = parser.parse_args()
    n, m, rounds = args.events, args.latency_events, max(1, args.rounds)
    paired = 2 * rounds * n  # items the alternated one- and two-worker runs write to
    with database(args.backend) as url, tempfile.TemporaryDirectory() as folder, ExitStack() as exits:
        stack = start_stack(Path(folder), exits, database_url=url, extra_env={"RULES_DIR": str(SOAK_RULES)})
        stack.stub.seed_jira(*seed_issues(paired + n + 2 * (m + WARM_UP)))
        ones: list[float] = []
        twos: list[float] = []
        for r in range(rounds):  # the first round's CPU and lock figures are reported
            marks = [db_figures(stack)]
            one_now, cpu_now = throughput(stack, 2 * r * n, n, 1, fork=False)
            marks.append(db_figures(stack))
            two_now, cpu_two_now = throughput(stack, (2 * r + 1) * n, n, 2, fork=False)
            marks.append(db_figures(stack))
            ones.append(one_now)
            twos.append(two_now)
            if not r:
                cpu_one, cpu_two = cpu_now, cpu_two_now
                db_one, db_two = db_per_event(marks[0], marks[1], n), db_per_event(marks[1], marks[2], n)
        one, two = statistics.median(ones), statistics.median(twos)
        fork, _cpu = throughput(stack, paired, n, 1, fork=True)
        rate = min(args.rate, two * 0.5)  # half the measured capacity: latency, not queueing
        fast = latency(stack, paired + n, m, rate, 2, fork=False)
        forked = latency(stack, paired + n + m + WARM_UP, m, min(rate, fork * 0.5), 1, fork=True)
        noops: list[float] = []
        trivials: list[float] = []
        for r in range(rounds):
            before_noop = db_figures(stack)
            noop_now, cpu_noop_now = noop_throughput(stack, n, r)
            if not r:
                cpu_noop, db_noop = cpu_noop_now, db_per_event(before_noop, db_figures(stack), n)
            noops.append(noop_now)
            trivials.append(rq_trivial(stack, max(n, 200)))
        noop, trivial = statistics.median(noops), statistics.median(trivials)
        noop_ratios = [round(a / b, 2) for a, b in zip(noops, trivials, strict=True)]
        two_ratios = [round(b / a, 2) for a, b in zip(ones, twos, strict=True)]
    result = {
        "events_per_s_1_worker": round(one, 1),
        "events_per_s_2_workers": round(two, 1),
        "events_per_s_per_worker_2_workers": round(two / 2, 1),
        "fork_events_per_s_1_worker": round(fork, 1),
        "p50_ms": round(percentile(fast, 0.5), 1),
        "p99_ms": round(percentile(fast, 0.99), 1),
        "fork_p50_ms": round(percentile(forked, 0.5), 1),
        "fork_p99_ms": round(percentile(forked, 0.99), 1),
        "events": n,
        "latency_events": m,
        "rate_per_s": round(rate, 1),
        "last_item": item_key(paired + n + 2 * (m + WARM_UP) - 1),
        "noop_events_per_s_1_worker": round(noop, 1),
        "rq_trivial_jobs_per_s": round(trivial, 1),
        "noop_vs_rq_trivial": statistics.median(noop_ratios),
        "rounds": rounds,
        "runs_with_a_silent_worker": len(SILENT_RUNS),
        "two_vs_one_rounds": two_ratios,
        "noop_vs_rq_trivial_rounds": noop_ratios,
        "cpu_1_worker": cpu_one,
        "cpu_2_workers": cpu_two,
        "cpu_noop_1_worker": cpu_noop,
        "backend": args.backend,
        "db_1_worker": db_one,
        "db_2_workers": db_two,
        "db_noop_1_worker": db_noop,
    }
    print(
        f"SimpleWorker: {one:.0f} events/s with 1 worker, {two:.0f} with 2 ({two / 2:.0f} per worker); "
        f"RQ fork-per-job worker: {fork:.0f} events/s"
    )
    print(
        f"receipt → write at {rate:.1f}/s with 2 workers: p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms; fork worker: p50 {result['fork_p50_ms']} ms, "
        f"p99 {result['fork_p99_ms']} ms"
    )
    print(
        f"no-write path: {noop:.0f} events/s with 1 worker; RQ empty job: {trivial:.0f} jobs/s "
        f"({result['noop_vs_rq_trivial']:.2f} ×; by round {noop_ratios}); two workers ÷ one by round {two_ratios}"
    )
    print(
        "CPU while draining (ms per event by role; share of both cores busy, and taken by other processes): "
        f"1 worker {cpu_one}; 2 workers {cpu_two}; no-write path {cpu_noop}"
    )
    print(
        "SQLite write lock per event (write transactions, BEGINs that waited, ms waited, ms held): "
        f"1 worker {result['db_1_worker']}; 2 workers {result['db_2_workers']}; no-write path {db_noop}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
