"""Report benchmark: every report over 1,000,000 status changes of 50,000 items, on SQLite and PostgreSQL.

Generates a seeded history (items, status changes, flag episodes in the audit log,
rule states) into a fresh database per backend, runs the clock's daily statistics job
(SQLite's sampled ANALYZE; PostgreSQL's autovacuum is stood in for by VACUUM ANALYZE), then,
for each period asked (`--since`, repeatable), times each report section (best of `--repeat`
runs, after one warm-up, in a process whose heap is set aside from the garbage collector's full
passes as a serving process's is, `integration.heap`) — including the cumulative flow diagram and the Monte Carlo
forecasts with their 10,000 trials — flow efficiency on its own (it runs inside "time in
status"), and the whole report and one team digest; `report_split` is how the whole report's
time divides among its sections (each section's own seconds: with sections side by side on several
connections, `--connections`, they add up to more than the whole), and `all_sections_one_connection`
the whole report with its sections one after the other on one connection. Kept
simulations are forgotten before every timed run, so each figure includes its simulations;
`all_sections_cached` is the whole report again with them kept (a page reload, the digest).
Beside wall-clock seconds, `cpu_seconds_per_report` / `cpu_periods` (per backend) give this
process's CPU seconds: all of SQLite's work, the client's share of PostgreSQL's; and
`server_cpu_seconds_per_report` / `server_cpu_periods` PostgreSQL's server processes' (those
serving the benchmark's database, read from /proc when the server runs on this machine; parallel
workers not counted); other load on a
shared machine inflates them far less. Peak memory is Python's traced peak while the reports
run, and the process's max RSS. The last line is one JSON object: `since` and `seconds_per_report` are the first period's,
`periods` has every period's, and `goal_met` says whether every section and the whole
report met the goal in every period.

    python bench/report.py [--items 50000] [--changes 1000000] [--since 30d --since 90d --since 365d]
                           [--backend sqlite --backend postgresql] [--index "CREATE INDEX ..."]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bench.report_data import RULES, Plan, load
from integration.heap import settle_heap
from integration.reports.context import Context
from integration.reports.dataset import Report
from integration.reports.digest import digest_figures, digest_markdown
from integration.reports.digest_config import DigestSpec
from integration.reports.efficiency import efficiency_section
from integration.reports.montecarlo import clear_cache
from integration.reports.report import SECTIONS, build_report, report_connections, tune_for_reports
from integration.reports.scope import RuleCatalog, make_scope
from integration.reports.sources import project_targets
from integration.store.db import read_connection
from integration.store.maintenance import optimize
from integration.store.migrate import upgrade
from integration.store.store import Store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOALS = {"sqlite": 3.0, "postgresql": 1.0}
PARTS = ("flow_efficiency",)  # issue-19 figures timed alone although they run inside a section
CATALOG = RuleCatalog(stalled_rules=frozenset(r for r, scheduled in RULES if scheduled),
                      flag_labels={r: (r,) for r, _ in RULES})


def timed(call: Any, repeat: int, *, keep_simulations: bool = False,
          server: Callable[[], float] = lambda: 0.0) -> tuple[float, float, float, Any]:
    """Best wall-clock seconds, best CPU seconds of this process (SQLite's work is all in it; for
    PostgreSQL it is the client's share) and of PostgreSQL's server process, which other load on the
    machine inflates far less; and what the fastest run returned."""
    call()  # warm-up: caches and the planner's first look
    best, best_cpu, best_server, answer = float("inf"), float("inf"), float("inf"), None
    for _ in range(repeat):
        if not keep_simulations:
            clear_cache()
        started, cpu, served = time.perf_counter(), time.process_time(), server()
        result = call()
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, answer = elapsed, result
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_server = min(best_server, server() - served)
    return round(best, 3), round(best_cpu, 3), round(best_server, 3), answer


def server_cpu(engine: Engine) -> Callable[[], float]:
    """CPU seconds so far of the PostgreSQL processes serving this benchmark's database (a report reads
    on several pooled connections at once; parallel workers, which come and go, are not counted); 0 on
    SQLite or when the server runs on another machine."""
    if engine.dialect.name != "postgresql":
        return lambda: 0.0
    watcher = create_engine(engine.url, poolclass=NullPool)
    ticks = os.sysconf("SC_CLK_TCK")
    with watcher.connect() as conn:
        if not Path(f"/proc/{conn.execute(text('SELECT pg_backend_pid()')).scalar()}/stat").exists():
            return lambda: 0.0

    def read() -> float:
        with watcher.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalars()
            total = 0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:  # closed meanwhile
                    continue
                total += int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15
        return total / ticks

    return read


def run_reports(store: Store, args: argparse.Namespace, now: datetime, since: str) -> dict[str, Any]:
    """Seconds per report (no tracing: it slows Python several-fold), then one traced pass for memory."""
    scope = make_scope(since, now)
    targets = project_targets(store)

    def report(sections: list[str] | None = None, connections: int = args.connections) -> Report:
        return build_report(store.engine, scope, catalog=CATALOG, targets=targets, sections=sections, now=now,
                            connections=connections)

    def digest() -> str:
        with store.engine.connect() as conn:
            return digest_markdown(digest_figures(conn, DigestSpec("ENG", "jira", wip_limit=3), CATALOG, now))

    def efficiency() -> list[Any]:
        with read_connection(store.engine) as conn:
            tune_for_reports(conn)
            return efficiency_section(conn, Context(scope, CATALOG, targets))

    calls: dict[str, Any] = {name: (lambda n=name: report([n])) for name in SECTIONS}
    calls.update({PARTS[0]: efficiency, "all_sections": report,
                  "all_sections_one_connection": lambda: report(connections=1), "digest": digest})
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    served: dict[str, float] = {}
    split: dict[str, float] = {}
    server = server_cpu(store.engine)
    for name, call in calls.items():
        seconds[name], cpu[name], served[name], answer = timed(call, args.repeat, server=server)
        print(f"  {since:>5} {name:<20} {seconds[name]:7.3f} s  (cpu {cpu[name]:.3f} s, "
              f"server cpu {served[name]:.3f} s)", flush=True)
        if name == "all_sections":
            split = dict(answer.seconds)
            print(f"  {since:>5} {'':<20} whole report by section: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in split.items()), flush=True)
    name = "all_sections_cached"
    seconds[name], cpu[name], served[name], _ = timed(report, args.repeat, keep_simulations=True, server=server)
    print(f"  {since:>5} {name:<20} {seconds[name]:7.3f} s  (cpu {cpu[name]:.3f} s)", flush=True)
    clear_cache()
    tracemalloc.start()
    full, _ = report(), digest()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak traced memory for every report and the digest: {peak / 2**20:.1f} MB", flush=True)
    return {"seconds_per_report": seconds, "cpu_seconds_per_report": cpu, "server_cpu_seconds_per_report": served,
            "report_split": split,
            "peak_mb": round(peak / 2**20, 1), **figures(full)}


def figures(report: Report) -> dict[str, Any]:
    """A few headline numbers, so a run shows the reports computed something sensible."""
    def summary(name: str) -> dict[str, Any]:
        found = report.get(name)
        return {k: str(v) for k, v in found.summary.items()} if found else {}

    when, roadmap = report.get("forecast_when"), report.get("roadmap")
    return {"cycle_time": summary("cycle_time"), "wip_now": summary("wip_by_status"), "cfd": summary("cfd"),
            "flow_efficiency": summary("flow_efficiency"), "throughput_daily": summary("throughput_daily"),
            "forecast_when": {**summary("forecast_when"), **{r[0]: str(r[2]) for r in when.rows}} if when else {},
            "forecast_how_many": {r[0]: r[1] for r in fm.rows} if (fm := report.get("forecast_how_many")) else {},
            "roadmap_risk": dict(Counter(r[-1] for r in roadmap.rows)) if roadmap else {},
            "aging_wip": summary("aging_wip"),
            "cycle_scatter_points": len(scatter.rows) if (scatter := report.get("cycle_scatter")) else 0}


def prepare(backend: str, workdir: Path, keep: bool = False) -> tuple[str, Any]:
    """A fresh, migrated database; returns its URL and a function that removes it."""
    if backend == "sqlite":
        kept = Path(tempfile.mkdtemp(prefix="flowkeeper_bench_")) if keep else workdir  # --keep: outlives the run
        url = f"sqlite:///{kept / 'bench.sqlite'}"
        upgrade(url)
        return url, lambda: None
    name = f"flowkeeper_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def bench_backend(backend: str, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        reused = args.database.get(backend)
        url, drop = (reused, lambda: None) if reused else prepare(backend, Path(tmp), args.keep)
        store = Store.connect(url)
        try:
            counts: dict[str, int] = {}
            if reused:  # its schema as it is: `flowkeeper db upgrade` brings it to this release's
                print(f"{backend}: reusing {url} generated at --now {now.isoformat()}", flush=True)
            else:
                started = time.perf_counter()
                counts = load(store.engine, Plan(args.items, args.changes, now))
                print(f"{backend}: loaded {counts} in {time.perf_counter() - started:.1f} s", flush=True)
                _maintain(store, backend, args)
            settle_heap()  # as `flowkeeper serve` and gunicorn's workers do once ready to serve
            periods = {since: run_reports(store, args, now, since) for since in args.since}
            result = dict(periods[args.since[0]])
            result["rows"] = counts
            result["periods"] = {since: r["seconds_per_report"] for since, r in periods.items()}
            result["cpu_periods"] = {since: r["cpu_seconds_per_report"] for since, r in periods.items()}
            result["report_split_periods"] = {since: r["report_split"] for since, r in periods.items()}
            result["server_cpu_periods"] = {since: r["server_cpu_seconds_per_report"] for since, r in periods.items()}
            result["peak_mb"] = max(r["peak_mb"] for r in periods.values())
            return result
        finally:
            store.engine.dispose()
            if args.keep or reused:
                print(f"{backend}: kept {url} (reuse: --database {url} --now {now.isoformat()})", flush=True)
            else:
                drop()


def _maintain(store: Store, backend: str, args: argparse.Namespace) -> None:
    """PostgreSQL's autovacuum would have analyzed by now; on SQLite the clock's daily job would have run."""
    with store.engine.begin() as conn:  # committed: the SQLite engine opens every transaction itself
        for statement in args.index:
            conn.execute(text(statement))
        if backend == "sqlite" and args.analyze:
            conn.execute(text("ANALYZE"))
    if backend == "sqlite" and args.clock_statistics:
        print(f"{backend}: {optimize(store.engine)}", flush=True)
    if backend == "postgresql":
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--since", action="append", default=[], help="report period, repeatable (default 30d)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"], default=[])
    parser.add_argument("--analyze", action="store_true", help="run a full ANALYZE on SQLite before timing")
    parser.add_argument("--no-clock-statistics", dest="clock_statistics", action="store_false",
                        help="time SQLite without the clock's daily statistics job")
    parser.add_argument("--index", action="append", default=[], help="extra CREATE INDEX statement to try")
    parser.add_argument("--keep", action="store_true", help="keep the database (to inspect plans, or time it again with --database)")
    parser.add_argument("--connections", type=int, default=0,
                        help="connections a report reads on at once (0: as FLOWKEEPER_REPORT_CONNECTIONS's default)")
    parser.add_argument("--database", action="append", default=[],
                        help="time a database an earlier --keep run generated instead of loading a new one "
                             "(its URL; with --now, the time it was generated at)")
    parser.add_argument("--now", help="the time a reused database was generated at (ISO 8601, as --keep prints)")
    args = parser.parse_args()
    args.since = args.since or ["30d"]
    args.database = {("postgresql" if u.startswith("postgresql") else "sqlite"): u for u in args.database}
    if args.database and not args.now:
        parser.error("--database needs --now, the time its history was generated at")
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC).replace(microsecond=0)
    results = {}
    for backend in args.backend or ["sqlite", "postgresql"]:
        results[backend] = bench_backend(backend, args, now)
    summary = {
        "items": args.items, "status_changes": args.changes, "since": args.since[0],
        "seconds_per_report": {b: r["seconds_per_report"] for b, r in results.items()},
        "peak_mb": max(r["peak_mb"] for r in results.values()),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine slows figures
        "cpus": os.cpu_count(),
        "connections": report_connections(args.connections),
        "connections_per_backend": {b: report_connections(args.connections) for b in results},
        "goal_met": {b: all(s < GOALS[b] for seconds in r["periods"].values() for k, s in seconds.items()
                            if k in SECTIONS or k in PARTS or k == "all_sections")
                     for b, r in results.items()},
        "periods": {since: {b: r["periods"][since] for b, r in results.items()} for since in args.since},
        "backends": {b: {k: v for k, v in r.items() if k not in ("seconds_per_report", "periods")}
                     for b, r in results.items()},
    }
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
