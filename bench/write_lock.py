"""Processes taking turns at SQLite's write lock: how long a writer that meets the lock waits.

Each process runs `--transactions` write transactions, each holding the lock `--hold-ms` (a sleep,
as a job's statements and Python between them would) and then doing `--gap-ms` of other work (a
sleep: the tracker call, Redis). Run once with the write gate (`integration.store.write_gate`) and
once without it (its file made unusable, so SQLite's busy handler alone waits, as before the gate),
in the same sitting. Sleeps rather than CPU work, so a busy machine moves the figures less.
The last line is one JSON object. Usage: `python bench/write_lock.py [--transactions 400]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from integration.store.db import WRITE_LOCK, make_engine  # noqa: E402


def spin(seconds: float) -> None:
    """CPU work for `seconds`: a job computing, which a busy machine can preempt (a sleep it cannot)."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def writer(url: str, transactions: int, hold: float, gap: float, start: float, out: multiprocessing.Queue,
           busy: bool = False) -> None:
    work = spin if busy else time.sleep
    engine = make_engine(url)
    with engine.begin() as conn:  # connection opened before the clock starts
        conn.execute(text("SELECT 1"))
    WRITE_LOCK.take()
    time.sleep(max(0.0, start - time.time()))
    began = time.perf_counter()
    for n in range(transactions):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (pid, n) VALUES (:pid, :n)"), {"pid": os.getpid(), "n": n})
            work(hold)
        work(gap)
    out.put((time.perf_counter() - began, *WRITE_LOCK.take()))


def run(folder: Path, gated: bool, args: argparse.Namespace) -> dict[str, float]:
    database = folder / f"{'gated' if gated else 'ungated'}.sqlite"
    url = f"sqlite:///{database}"
    if not gated:
        Path(f"{database.resolve()}.writers").mkdir()  # unopenable: writers fall back to SQLite's busy wait
    with make_engine(url).begin() as conn:
        conn.execute(text("CREATE TABLE t (pid INTEGER, n INTEGER)"))
    out: multiprocessing.Queue = multiprocessing.Queue()
    start = time.time() + 1.0
    procs = [multiprocessing.Process(target=writer, args=(url, args.transactions, args.hold_ms / 1000,
                                                           args.gap_ms / 1000, start, out, args.busy))
             for _ in range(args.writers)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(30)
    elapsed = max(r[0] for r in results)
    transactions = sum(r[1] for r in results)
    waits = sum(r[2] for r in results)
    seconds = sum(r[3] for r in results)
    return {
        "transactions_per_s": round(transactions / elapsed, 1),
        "waited_share": round(waits / transactions, 3),
        "ms_per_wait": round(seconds * 1000 / waits, 3) if waits else 0.0,
        "wait_ms_per_transaction": round(seconds * 1000 / transactions, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=400, help="per process")
    parser.add_argument("--hold-ms", type=float, default=0.5)
    parser.add_argument("--gap-ms", type=float, default=1.5)
    parser.add_argument("--busy", action="store_true", help="CPU work instead of sleeps (a saturated machine)")
    parser.add_argument("--writers", type=int, default=2, help="processes")
    parser.add_argument("--rounds", type=int, default=2, help="gated and ungated runs, alternated")
    args = parser.parse_args()
    logging.getLogger("flowkeeper.store").setLevel(logging.ERROR)  # the ungated runs' warning is expected
    runs: dict[str, list[dict[str, float]]] = {"gated": [], "ungated": []}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.rounds):
            for gated in (n % 2 == 0, n % 2 != 0):
                sub = Path(folder) / f"round-{n}"
                sub.mkdir(exist_ok=True)
                runs["gated" if gated else "ungated"].append(run(sub, gated, args))
    result = {
        "transactions_per_process": args.transactions, "hold_ms": args.hold_ms, "gap_ms": args.gap_ms,
        **{f"{kind}_{field}": [r[field] for r in rs] for kind, rs in runs.items() for field in rs[0]},
        "load_average": os.getloadavg()[0],
    }
    for kind, rs in runs.items():
        print(f"{kind}: " + "; ".join(f"{r['transactions_per_s']} transactions/s, {r['waited_share']:.0%} waited, "
                                     f"{r['ms_per_wait']} ms a wait" for r in rs))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
