"""The worker's own cost per no-write event: CPU milliseconds, and instructions under callgrind.

`bench/e2e.py` sets the no-write path's rate beside RQ's empty job on a machine others share,
where the rate moves with the load. This counts what one `flowkeeper worker --burst` spends per
event draining such a queue (the same stack and soak items as e2e.py: each item already has its
comment, so every job ends without a write), from its `--skip`-th job on, so its start-up is not
counted; RQ's maintenance (every 30 s, not per job) is left out of the instruction count, as
callgrind runs the worker some fifty times slower. The last line is one JSON object.

    python bench/noop_cpu.py [--events 300] [--rounds 2] [--instructions] [--profile FILE]

`--profile FILE` also drains a round under cProfile (the same jobs counted) and writes its
statistics to FILE, for `python -m pstats FILE`: where the instructions go, by Python function.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e import batch, comment_times, wait_for_comments  # noqa: E402
from tests.foundation.helpers import JIRA_SECRET  # noqa: E402
from tests.processes import flowkeeper  # noqa: E402
from tests.reliability.soak import SOAK_RULES, Delivery, _payload, item_key, seed_issues, send_all  # noqa: E402
from tests.reliability.stack import Stack, _environment, start_stack  # noqa: E402
from webhooks.signatures import sign_hub  # noqa: E402


def later_updates(count: int, sequence: int) -> list[Delivery]:
    """Update `sequence` (a later one each round) of items 0…count-1, each with its own delivery id."""
    posts = []
    for n in range(count):
        body = json.dumps(_payload(item_key(n), f"1{n + 1:04d}", sequence)).encode()
        delivery = f"noop-cpu-{sequence}-{n}"
        headers = {"Content-Type": "application/json", "X-Hub-Signature": sign_hub(body, JIRA_SECRET),
                   "X-Atlassian-Webhook-Identifier": delivery}
        posts.append(Delivery(delivery, item_key(n), body, headers))
    return posts


def drain(stack: Stack, skip: int, counting: bool, profile: Path | None = None) -> dict[str, float]:
    """Run this file as the worker (`--worker`) until the queue is empty; what it counted after `skip` jobs
    (`profile`: under cProfile, its statistics written there)."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.json"
        argv = [sys.executable, __file__, "--worker", "--skip", str(skip), "--figures", str(figures),
                *(["--counting"] if counting else []), *(["--profile", str(profile)] if profile else [])]
        if counting:
            argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/cg.out", *argv]
        env = {**_environment(stack.env), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode or not figures.exists():
            raise SystemExit(f"the worker failed: {done.stderr[-2000:]}")
        result: dict[str, float] = json.loads(figures.read_text())
        if counting:
            collected = re.search(r"Collected : (\d+)", done.stderr)
            if collected is None:
                raise SystemExit(f"callgrind printed no count: {done.stderr[-500:]}")
            result["instructions_per_event"] = int(collected.group(1)) / result["events"]
    return result


def as_worker(skip: int, figures: Path, counting: bool, profile: Path | None = None) -> int:
    """`flowkeeper worker --burst`, measured from its `skip`+1-th job to its exit."""
    from integration import worker
    from integration.cli import main

    run_job, seen, started = worker.FlowkeeperWorker.execute_job, [0], [0.0]
    profiler = cProfile.Profile() if profile else None

    def counted(self: Any, job: Any, queue: Any) -> None:
        seen[0] += 1
        if seen[0] == skip + 1:
            started[0] = time.process_time()
            if counting:
                subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
            if profiler is not None:
                profiler.enable()
        run_job(self, job, queue)

    def report() -> None:
        cpu = time.process_time() - started[0]
        if counting:
            subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True)
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        events = seen[0] - skip
        figures.write_text(json.dumps({"events": events, "cpu_ms_per_event": cpu * 1000 / max(events, 1)}))

    worker.FlowkeeperWorker.execute_job = counted  # type: ignore[method-assign]
    if counting:  # periodic, not per job; under callgrind a drain lasts long enough to run it a varying number of times
        worker.ResilientWorkerMixin.clean_registries = lambda self: None  # type: ignore[method-assign]
    atexit.register(report)
    return main(["worker", "--burst"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="no-write deliveries per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip", type=int, default=20, help="jobs each worker runs before counting")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under callgrind")
    parser.add_argument("--profile", type=Path, help="also drain a round under cProfile; its statistics to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--figures", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--counting", action="store_true", help=argparse.SUPPRESS)  # the worker, under callgrind
    args = parser.parse_args()
    if args.worker:
        raise SystemExit(as_worker(args.skip, args.figures, args.counting, args.profile))
    loads, cpu, counted = [os.getloadavg()[0]], [], []
    with tempfile.TemporaryDirectory() as folder, ExitStack() as exits:
        stack = start_stack(Path(folder), exits, extra_env={"RULES_DIR": str(SOAK_RULES)})
        stack.stub.seed_jira(*seed_issues(args.events))
        first = batch(0, args.events)  # one comment each: every later update of these items writes nothing
        send_all(stack.web, first)
        subprocess.run(flowkeeper("worker", "--burst"), env=_environment(stack.env), capture_output=True, check=True)
        wait_for_comments(stack, {p.key for p in first}, timeout=60)
        writes = len(comment_times(stack))
        for sequence in range(1, args.rounds + 1):
            send_all(stack.web, later_updates(args.events, sequence))
            cpu.append(drain(stack, args.skip, counting=False)["cpu_ms_per_event"])
            if args.instructions:
                send_all(stack.web, later_updates(args.events, 100 + sequence))
                counted.append(drain(stack, args.skip, counting=True)["instructions_per_event"])
            if args.profile:
                send_all(stack.web, later_updates(args.events, 200 + sequence))
                drain(stack, args.skip, counting=False, profile=args.profile.resolve())
            loads.append(os.getloadavg()[0])
        if len(comment_times(stack)) != writes:
            raise SystemExit("a no-write round wrote comments: it measures the wrong path")
    result: dict[str, Any] = {"events": args.events, "rounds": args.rounds,
                              "worker_cpu_ms_per_event": [round(c, 3) for c in cpu],
                              "worker_cpu_ms_per_event_median": round(statistics.median(cpu), 3)}
    if counted:
        result["instructions_per_event"] = [round(c) for c in counted]
        result["instructions_per_event_median"] = round(statistics.median(counted))
    result["load_avg_1m"] = [round(v, 2) for v in loads]
    print(f"worker CPU per no-write event: {result['worker_cpu_ms_per_event_median']} ms"
          + (f", {result['instructions_per_event_median'] / 1e6:.2f} M instructions" if counted else ""))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
