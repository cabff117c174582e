"""Build a `Report`: run each section's SQL and turn the figures into datasets.

Sections are independent (each reads through the one connection it is given and can be
timed alone, as `bench/report.py` does); the page and the CLI may ask for a subset. A
report runs its sections side by side on a few connections that all read one snapshot of
the database (see `build_report`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine

from integration.reports import aging as aging_mod
from integration.reports import flow, hygiene, roadmap, wip
from integration.reports.cfd import cfd_section
from integration.reports.context import Ask, Context
from integration.reports.dataset import Chart, Dataset, Report
from integration.reports.efficiency import efficiency_section
from integration.reports.forecast import forecast_section, report_done_days, report_first_seen
from integration.reports.scope import RuleCatalog, Scope, days
from integration.store.db import read_connection

PERCENTILE_REFS = ("p50", "p85", "p95")
REPORT_WORK_MEM = "64MB"  # the default 4MB makes the status-timeline sorts spill to disk
MAX_CONNECTIONS = 3  # a report reads on at most this many connections at once
HISTOGRAM_CAP = 60  # days: the distribution's last bucket holds everything longer


def _refs(stats: flow.DurationStats) -> tuple[tuple[str, float], ...]:
    return tuple((name, value) for name in PERCENTILE_REFS if (value := getattr(stats, name)) is not None)


def wip_section(conn: Connection, ctx: Context) -> list[Dataset]:
    now = wip.wip_now(conn, ctx.scope)
    daily = wip.wip_daily(conn, ctx.scope, ctx.bands(conn) if "cfd" in ctx.sections else None)
    statuses = sorted({s for d in daily for s in d.by_status})
    return [
        Dataset("wip_by_status", "WIP now by status", "wip", ("status", "items"), now.by_status,
                Chart("hbar", "status", ("items",)), {"total": now.total}),
        Dataset("wip_by_assignee", "WIP now by assignee", "wip", ("assignee", "items"),
                tuple((name, n) for _, name, n in now.by_assignee), Chart("hbar", "assignee", ("items",))),
        Dataset("wip_daily", "WIP at the end of each day", "wip", ("day", "total", *statuses),
                tuple((d.day, d.total, *(d.by_status.get(s, 0) for s in statuses)) for d in daily),
                Chart("line", "day", ("total", *statuses), "items"),
                note="Derived from the status history: each stay in an in-progress status counts until the "
                     "next change.", brief=True),
    ]


def dense(histogram: tuple[tuple[int, int], ...], cap: int = HISTOGRAM_CAP) -> tuple[tuple[int, int], ...]:
    """Every whole day from 0 to the longest (empty days as 0); the last bucket holds `cap` days and more."""
    counts: dict[int, int] = {}
    for bucket, n in histogram:
        counts[min(bucket, cap)] = counts.get(min(bucket, cap), 0) + n
    return tuple((b, counts.get(b, 0)) for b in range(max(counts) + 1)) if counts else ()


def flow_section(conn: Connection, ctx: Context) -> list[Dataset]:
    f = ctx.flow(conn)
    extra = {"completed": f.completed, "canceled": f.canceled, "completed_without_start": f.no_start}
    return [
        Dataset("cycle_time", "Cycle time (first start → done), days", "flow", ("days", "items"),
                dense(f.cycle_histogram), Chart("bar", "days", ("items",), "days", _refs(f.cycle)),
                f.cycle.as_dict(), brief=True),
        Dataset("cycle_scatter", "Cycle time of each finished item, by the day it was done", "flow",
                ("key", "done", "cycle_days", "tracker", "team"),
                tuple((c.key, c.done_at.date(), days(c.cycle_s), c.tracker, c.team)
                      for c in f.items if c.cycle_s is not None),
                Chart("scatter", "done", ("cycle_days",), "days", _refs(f.cycle),
                      (ctx.scope.since.date(), ctx.scope.until.date())),
                note="One dot per item; the lines are the 50th, 85th and 95th percentiles.", brief=True),
        Dataset("lead_time", "Lead time (created → done), days", "flow", ("days", "items"),
                dense(f.lead_histogram), Chart("bar", "days", ("items",), "days", _refs(f.lead)),
                f.lead.as_dict(), brief=True),
        Dataset("throughput", "Throughput per week", "flow", ("week", "completed", "cycle_p50_days"),
                tuple((w.week, w.completed, w.cycle_p50) for w in f.weeks),
                Chart("bar", "week", ("completed",)),
                extra),
    ]


def time_in_status_table(conn: Connection, ctx: Context) -> list[Dataset]:
    rows = wip.time_in_status(conn, ctx.scope)
    return [Dataset("time_in_status", "Where work waits: item-days in each status", "time_in_status",
                    ("status", "category", "item_days", "items", "mean_days"),
                    tuple((r.status, r.category, r.item_days, r.items, r.mean_days) for r in rows),
                    Chart("hbar", "status", ("item_days",), "item-days"))]


def time_in_status_section(conn: Connection, ctx: Context) -> list[Dataset]:
    return [*time_in_status_table(conn, ctx), *efficiency_section(conn, ctx)]


def aging_section(conn: Connection, ctx: Context) -> list[Dataset]:
    if "flow" in ctx.cache:
        cycle = ctx.flow(conn).cycle
    elif "completed" in ctx.cache or "flow" in ctx.sections:
        cycle = flow.duration_stats(c.cycle_s for c in ctx.completed(conn))
    else:  # nothing else reads the completions: their cycle times alone
        cycle = aging_mod.cycle_stats(conn, ctx.scope)
    rows = aging_mod.aging(conn, ctx.scope, cycle)
    zones: dict[str, int] = {}
    for r in rows:
        zones[r.zone] = zones.get(r.zone, 0) + 1
    return [Dataset("aging_wip", "Aging work in progress (age since first start, days)", "aging",
                    ("key", "title", "status", "assignee", "age_days", "in_status_days", "zone", "tracker"),
                    tuple((r.key, r.title, r.status, r.assignee, r.age_days, r.in_status_days, r.zone,
                           r.tracker) for r in rows),
                    Chart("strip", "status", ("age_days",), "days", _refs(cycle)),
                    {"items": len(rows), **zones, **{f"cycle_{k}": v for k, v in _refs(cycle)}})]


def hygiene_flags(conn: Connection, ctx: Context) -> list[Dataset]:
    episodes = hygiene.episode_rows(conn, ctx.scope)
    rules = hygiene.hygiene(conn, ctx.scope, ctx.catalog, episodes)
    weeks = hygiene.weekly_flags(conn, ctx.scope, episodes)
    totals: dict[date, list[int]] = {}
    for week, _rule, opened, cleared in weeks:
        pair = totals.setdefault(week, [0, 0])
        pair[0] += opened
        pair[1] += cleared
    return [
        Dataset("hygiene_rules", "Rule hygiene", "hygiene",
                ("rule", "opened", "cleared", "fix_p50_days", "fix_p85_days", "flagged_live", "flagged_dry",
                 "flags_set", "undone_in_a_day", "undone_share"),
                tuple((r.rule, r.opened, r.cleared, r.fix_p50_days, r.fix_p85_days, r.flagged_live,
                       r.flagged_dry, r.flags_set, r.undone_in_a_day, r.undone_share) for r in rules),
                Chart("bar", "rule", ("opened", "cleared")), open_table=True),
        Dataset("hygiene_weekly", "Flags opened and cleared per week", "hygiene",
                ("week", "opened", "cleared"), tuple((w, o, cl) for w, (o, cl) in sorted(totals.items())),
                Chart("bar", "week", ("opened", "cleared"))),
        Dataset("hygiene_rule_weeks", "Flags per rule and week", "hygiene",
                ("week", "rule", "opened", "cleared"), weeks),
    ]


def compliance_table(conn: Connection, ctx: Context) -> list[Dataset]:
    c = hygiene.compliance(conn, ctx.scope)
    return [
        Dataset("compliance", "Convention compliance of items started in the period", "hygiene",
                ("measure", "items", "share"),
                (("started", c.started, 1.0 if c.started else None),
                 ("with an assignee", c.with_assignee, c.share(c.with_assignee)),
                 ("with an estimate", c.with_estimate, c.share(c.with_estimate)),
                 ("with both", c.with_both, c.share(c.with_both))),
                Chart("hbar", "measure", ("share",), "share")),
    ]


def hygiene_section(conn: Connection, ctx: Context) -> list[Dataset]:
    return [*hygiene_flags(conn, ctx), *compliance_table(conn, ctx)]


def roadmap_section(conn: Connection, ctx: Context) -> list[Dataset]:
    rows = roadmap.roadmap(conn, ctx.scope, ctx.catalog, ctx.targets, trials=ctx.ask.trials, seed=ctx.ask.seed,
                           seen=report_first_seen(conn, ctx), done_days=report_done_days(conn, ctx))
    unknown = sorted({f"{r.team} ({r.tracker})" for r in rows if r.risk == "unknown"})
    note = ("Forecasts: the team's daily throughput over the period, simulated; "
            "on_time is the share of trials done by the target date.")
    if unknown:
        note += f" History too short to forecast for {', '.join(unknown)}: widen the period."
    return [Dataset("roadmap", "Roadmap: epics and projects", "roadmap",
                    ("tracker", "project", "epic", "team", "target", "total", "done", "progress",
                     "in_progress", "stalled", "flagged", "weekly_throughput", "forecast_p50", "forecast_p85",
                     "on_time", "days_left", "risk"),
                    tuple((r.tracker, r.project, r.epic_key, r.team, r.target, r.total, r.done, r.progress,
                           r.in_progress, r.stalled, r.flagged, r.weekly_throughput, r.forecast_p50,
                           r.forecast_p85, r.on_time, r.days_left, r.risk) for r in rows),
                    Chart("hbar", "project", ("progress",), "share"), note=note, open_table=True)]


Section = Callable[[Connection, Context], list[Dataset]]
SECTIONS: dict[str, Section] = {
    "wip": wip_section,
    "cfd": cfd_section,
    "flow": flow_section,
    "time_in_status": time_in_status_section,
    "aging": aging_section,
    "hygiene": hygiene_section,
    "roadmap": roadmap_section,
    "forecast": forecast_section,
}


# What a report runs as separate pieces of work, each on whichever connection is free: a section's
# parts, in the order their datasets appear.
PARTS: dict[str, tuple[Section, ...]] = {
    **{name: (section,) for name, section in SECTIONS.items()},
    "time_in_status": (time_in_status_table, efficiency_section),
    "hygiene": (hygiene_flags, compliance_table),
}
# Sections run one after the other on one connection when both are chosen: the second reads what the
# first computes (the daily levels), so running them apart would only keep a connection waiting.
TOGETHER = (("wip", "cfd"),)
# The order pieces of work start in: the longest first (365 days, both backends), so the short ones
# fill in around them.
LONGEST_FIRST = ("time_in_status", "wip", "cfd", "flow", "hygiene", "aging", "roadmap", "forecast")


def tune_for_reports(conn: Connection, side_by_side: bool = False) -> None:
    """PostgreSQL, for this transaction only: sorts and hashes in memory, and no JIT compilation.

    `side_by_side`: the report reads on several connections at once, one per core, so no statement
    starts parallel workers: the cores are already busy with the other connections' sections, and
    workers would only add their start-up and the hand-over of their rows."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        conn.exec_driver_sql("SET LOCAL jit = off")  # compiling costs more than these queries run
        if side_by_side:
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


def report_connections(setting: int = 0) -> int:
    """How many connections a report reads on: the setting (FLOWKEEPER_REPORT_CONNECTIONS), or with 0 one
    per CPU core, at most MAX_CONNECTIONS."""
    return setting if setting > 0 else max(1, min(MAX_CONNECTIONS, os.cpu_count() or 1))


def begin_report(conn: Connection, snapshot: str | None = None, *, export: bool = False,
                 side_by_side: bool = False) -> str | None:
    """Start the report's read transaction on `conn`, now.

    PostgreSQL: REPEATABLE READ, read only, so every statement reads one snapshot; `snapshot` (from
    another report connection's `export`) makes this transaction read that same one. SQLite: the
    deferred read transaction takes its snapshot at its first read, so this reads once.
    `side_by_side`: one of several connections reading at once (`tune_for_reports`).
    Returns the exported snapshot's name when `export`."""
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()  # the WAL snapshot starts here
        return None
    conn.execution_options(isolation_level="REPEATABLE READ")
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    if snapshot is not None:
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    tune_for_reports(conn, side_by_side)
    return str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()) if export else None


@contextmanager
def snapshot_connections(engine: Engine, count: int) -> Iterator[list[Connection]]:
    """`count` read connections that see the same data: on PostgreSQL the first one's snapshot, exported
    to the others; on SQLite each read transaction starts here, one right after the other, before any
    section runs (WAL keeps each one's snapshot for its whole life; a write committed in the instant
    between two of those starts is the only one that one may see and another not)."""
    with ExitStack() as stack:
        first = stack.enter_context(read_connection(engine))
        snapshot = begin_report(first, export=count > 1, side_by_side=count > 1)
        conns = [first]
        for _ in range(count - 1):
            conn = stack.enter_context(read_connection(engine))
            begin_report(conn, snapshot, side_by_side=True)
            conns.append(conn)
        yield conns


Piece = tuple[str, int, Section]  # (section, part number, part)


def plan_work(chosen: list[str]) -> list[list[Piece]]:
    """The chosen sections' parts as pieces of work, longest first; each piece runs its parts in order."""
    units: list[list[Piece]] = []
    unit_of: dict[str, list[Piece]] = {}
    for name in sorted(chosen, key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(LONGEST_FIRST)):
        parts = [(name, k, part) for k, part in enumerate(PARTS[name])]
        partner = next((unit_of[other] for group in TOGETHER if name in group for other in group
                        if other in unit_of), None)
        if partner is not None:
            partner.extend(parts)
            unit_of[name] = partner
            continue
        units.extend([part] for part in parts)
        unit_of[name] = units[-1]
    return units


def build_report(engine: Engine, scope: Scope, *, catalog: RuleCatalog | None = None,
                 targets: Mapping[tuple[str, str], date] | None = None, sections: Iterable[str] | None = None,
                 now: datetime | None = None, ask: Ask | None = None, connections: int = 0) -> Report:
    """Run the chosen sections (all by default); records seconds per section.

    The sections' parts run side by side on up to `connections` connections (0: see
    `report_connections`), all reading one snapshot, so the report is the one a single connection
    would give; 1 runs them one after the other in the order chosen. Sections that share a figure
    compute it once (`Context.once`). An error in any section is raised once every running part has
    stopped."""
    chosen = list(sections) if sections else list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section(s): {', '.join(unknown)} "
                         f"(choose from {', '.join(SECTIONS)})")
    ctx = Context(scope, catalog or RuleCatalog(), dict(targets or {}), ask or Ask(), sections=tuple(chosen))
    units = plan_work(chosen)
    count = min(report_connections(connections), len(units))
    results: dict[tuple[str, int], list[Dataset]] = {}
    seconds: dict[str, float] = dict.fromkeys(chosen, 0.0)
    with snapshot_connections(engine, count) as conns:
        if count == 1:
            for name in chosen:
                for k, part in enumerate(PARTS[name]):
                    results[(name, k)] = _timed(part, conns[0], ctx, name, seconds)
        else:
            results = _run_side_by_side(units, conns, ctx, seconds)
    datasets = [d for name in chosen for k in range(len(PARTS[name])) for d in results[(name, k)]]
    return Report(scope, now or datetime.now(UTC), tuple(datasets),
                  {name: round(s, 4) for name, s in seconds.items()})


_SECONDS = threading.Lock()  # parts of one section may finish on two threads at once


def _timed(part: Section, conn: Connection, ctx: Context, name: str, seconds: dict[str, float]) -> list[Dataset]:
    started = time.perf_counter()
    try:
        return part(conn, ctx)
    finally:
        with _SECONDS:
            seconds[name] += time.perf_counter() - started


def _run_side_by_side(units: list[list[Piece]], conns: list[Connection], ctx: Context,
                      seconds: dict[str, float]) -> dict[tuple[str, int], list[Dataset]]:
    """Each piece of work on a free connection; a failure cancels the pieces not started yet."""
    free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
    for conn in conns:
        free.put(conn)

    def run(unit: list[Piece]) -> dict[tuple[str, int], list[Dataset]]:
        conn = free.get()
        try:
            return {(name, k): _timed(part, conn, ctx, name, seconds) for name, k, part in unit}
        finally:
            free.put(conn)

    results: dict[tuple[str, int], list[Dataset]] = {}
    with ThreadPoolExecutor(max_workers=len(conns), thread_name_prefix="report") as pool:
        futures: list[Future[dict[tuple[str, int], list[Dataset]]]] = [pool.submit(run, u) for u in units]
        try:
            for future in futures:
                results.update(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results
