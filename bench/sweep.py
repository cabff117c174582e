"""Benchmark sweeps: API requests and wall time over mocked Jira and Linear sites of 10,000 and 100,000 items.

Each site is mostly done work, a fifth to do, a few percent in progress, and 1% of it
stalled (in progress, untouched for 30 days). A sweep of a "stalled" rule (label and
comment) runs with the rule's pushdown query, and in the same run a naive sweep that lists
every item of the project and judges each one; both start from an empty mirror and end
with the same items flagged. HTTP is mocked with `responses` by the fakes in
`tests/sweeps` (real clients, normalizers, JQL and IssueFilter evaluation), so a request
is a request the real tracker would have answered. The blast-radius guard and the write
budget are lifted: this measures reading and writing, not the safety catches.

Prints, per tracker and size: reads, writes, requests per flagged item, seconds, and the
naive sweep's reads and seconds.

Then the steady state (`steady` in the JSON), on the largest size: after the first sweep,
sweeps every 15 minutes while people comment through webhooks (which keep the mirror fresh)
and a few items cross the stall threshold each interval. A follow-up sweep reads what
changed and the new candidates; flags already up are judged from the mirror.

Last, a simulated 1,000,000-issue site (`million` in the JSON): the built-in packs' scheduled
rules swept every 15 minutes on each tracker, costed with the per-request figures measured in
the steady state (search pages, refetches and writes per new flag, reads per webhook), against
the budget read from the rate-limit headers the stub tracker sends (Linear: requests per hour
per API key); Jira limits API tokens per second per endpoint and the stub sends no Jira limit
header, so Jira's figures are requests per hour and per second. The change and flag rates of
the big site are assumptions, printed with the figures (`--changes-per-hour`, `--new-flags-per-hour`).
The last line is one JSON object.

    .venv/bin/python bench/sweep.py [--sizes 10000 100000] [--trackers jira linear] [--intervals 4]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import responses

from integration.settings_sweeps import SweepSettings
from integration.store.migrate import upgrade
from integration.stubtracker.site import Issue as FakeIssue
from integration.sweeps.sweep import Sweeper
from rules.loader import load_ruleset
from rules.model import SearchQuery, StatusCategory
from rules.ruleset import Rule
from tests.stub import ADA, populate
from tests.sweeps.world import World, write_rules

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 business days without human activity gets a label and a comment.
    on: [schedule]
    teams: [ENG]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 business days }
        - labels: { none_of: [on-hold] }
    then:
      - flag:
          label: stalled
          comment: "{{ assignee.mention }} {{ key }} has had no activity for {{ last_activity | age }}."
"""
UNLIMITED = SweepSettings(write_budget=10**9, blast_items=10**9, blast_share=1.0, page_size=100)


class NaiveSweeper(Sweeper):
    """List every item of the project and judge each one: what a sweep without pushdown costs."""

    def candidates(self, rule: Rule, tracker: str, now: datetime) -> SearchQuery:
        return SearchQuery(teams=tuple(sorted(rule.teams)))


@contextmanager
def bench_world(tracker: str, size: int, workdir: Path, name: str) -> Iterator[tuple[World, list[str]]]:
    """A fresh database and a mocked site of `size` items (1% stalled); the stalled keys."""
    folder = workdir / f"{tracker}-{size}-{name}"
    folder.mkdir()
    db_url = f"sqlite:///{folder / 'bench.sqlite'}"
    upgrade(db_url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        world = World(tracker, db_url, write_rules(folder / "rules", RULES), NOW, mock, settings=UNLIMITED)
        yield world, populate(world.site, "ENG", size, stalled_every=100, now=NOW)


def one_sweep(tracker: str, size: int, naive: bool, workdir: Path) -> dict[str, Any]:
    with bench_world(tracker, size, workdir, "naive" if naive else "pushdown") as (world, stalled):
        world.site.keep_log = False
        started = time.perf_counter()
        run = world.sweep("stalled", kind=NaiveSweeper if naive else Sweeper)
        seconds = time.perf_counter() - started
        flagged = sum("stalled" in i.labels for i in world.site.issues.values())
    assert run is not None and run.state == "done", run
    assert flagged == len(stalled), (flagged, len(stalled))
    world.services.store.engine.dispose()
    return {"reads": world.site.reads, "writes": world.site.writes, "flagged": flagged,
            "seconds": round(seconds, 2), "candidates": run.candidates}


def measure(tracker: str, size: int, workdir: Path) -> dict[str, Any]:
    smart = one_sweep(tracker, size, naive=False, workdir=workdir)
    naive = one_sweep(tracker, size, naive=True, workdir=workdir)
    per_flagged = (smart["reads"] + smart["writes"]) / max(smart["flagged"], 1)
    share = smart["reads"] / max(naive["reads"], 1)
    print(f"{tracker:6} {size:>7,} items: {smart['candidates']:>6,} candidates, reads {smart['reads']:>5,}, "
          f"writes {smart['writes']:>5,}, flagged {smart['flagged']:>5,}, {per_flagged:.2f} requests/flagged, "
          f"{smart['seconds']:>7.1f} s | naive: reads {naive['reads']:>5,}, {naive['seconds']:>7.1f} s "
          f"| reads {share:.1%} of naive", flush=True)
    return {"reads": smart["reads"], "writes": smart["writes"], "flagged": smart["flagged"],
            "seconds": smart["seconds"], "naive_reads": naive["reads"], "naive_seconds": naive["seconds"]}


INTERVAL = timedelta(minutes=15)
STALL_AFTER = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # 5 business days before NOW
NEW_PER_INTERVAL = 10  # items crossing the threshold at each later sweep
COMMENTS_PER_INTERVAL = 20  # people commenting on in-progress items, through webhooks


def steady_state(tracker: str, size: int, intervals: int, workdir: Path) -> dict[str, Any]:
    """The first sweep, then one every 15 minutes with webhooks keeping the mirror fresh."""
    with bench_world(tracker, size, workdir, "steady") as (world, _stalled):
        for j in range(1, intervals + 1):  # idle until just after the threshold of the j-th later sweep
            idle = STALL_AFTER + (j - 1) * INTERVAL + timedelta(minutes=5)
            for m in range(NEW_PER_INTERVAL):
                n = size + (j - 1) * NEW_PER_INTERVAL + m + 1
                world.site.add(FakeIssue(id=str(10000 + n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                         category="in_progress", updated=idle, created=idle - timedelta(days=3),
                                         assignee=ADA, status_entered=idle))
        busy = [k for k, i in world.site.issues.items() if i.category == "in_progress" and i.updated > NOW - timedelta(days=3)]
        world.site.keep_log = False
        reads, writes, started = world.site.reads, world.site.writes, time.perf_counter()
        first = world.sweep("stalled")
        assert first is not None and first.state == "done"
        full = {"reads": world.site.reads - reads, "writes": world.site.writes - writes,
                "seconds": round(time.perf_counter() - started, 2)}
        sweeps, webhook_reads, webhooks = [], 0, 0
        for j in range(intervals):
            for c in range(COMMENTS_PER_INTERVAL):
                before = world.site.reads
                world.commented(busy[(j * COMMENTS_PER_INTERVAL + c) % len(busy)], ADA, "Still on it.")
                webhook_reads += world.site.reads - before
                webhooks += 1
            world.later(minutes=15)
            reads, writes, started = world.site.reads, world.site.writes, time.perf_counter()
            run = world.sweep("stalled")
            assert run is not None and run.state == "done", run
            sweeps.append({"reads": world.site.reads - reads, "writes": world.site.writes - writes,
                           "follow_up": run.query.get("changed_since") is not None,
                           "searched": run.candidates - int(run.stats.get("from_mirror", 0)),
                           "from_mirror": int(run.stats.get("from_mirror", 0)),
                           "refetched": int(run.stats.get("refetched", 0)),
                           "seconds": round(time.perf_counter() - started, 2)})
        advertised = linear_budget(world) if tracker == "linear" else None
        world.services.store.engine.dispose()
    for j, one in enumerate(sweeps, 1):
        print(f"{tracker:6} {size:>7,} items, sweep {j + 1} (+{15 * j} min): reads {one['reads']:>5,} "
              f"(searched {one['searched']:,}, from the mirror {one['from_mirror']:,}, read again {one['refetched']}), "
              f"writes {one['writes']:>3}, {one['seconds']:.1f} s", flush=True)
    later = [one["reads"] for one in sweeps[1:]] or [sweeps[-1]["reads"]]
    return {"first_sweep": full, "sweeps": sweeps, "webhooks": webhooks, "advertised_requests_per_hour": advertised,
            "webhook_reads_per_event": round(webhook_reads / max(webhooks, 1), 3),
            "new_candidates_per_interval": NEW_PER_INTERVAL, "comments_per_interval": COMMENTS_PER_INTERVAL,
            "steady_reads_per_sweep": round(sum(later) / len(later), 1),
            "steady_share_of_full_reads": round(sum(later) / len(later) / max(full["reads"], 1), 4),
            "writes_per_new_flag": round(sum(o["writes"] for o in sweeps) / max(NEW_PER_INTERVAL * intervals, 1), 2)}


def linear_budget(world: World) -> float | None:
    """The hourly request limit the stub's Linear answers advertise (`X-RateLimit-Requests-Limit`)."""
    budget = world.services.clients["linear"].rate_budget()  # type: ignore[attr-defined]
    return budget.requests_limit


def million(steady: dict[str, dict[str, Any]], changes_per_hour: int,
            new_flags_per_hour: int, items: int = 1_000_000, page: int = 100) -> dict[str, Any]:
    """Requests per hour on a 1,000,000-issue site, the built-in packs swept every 15 minutes."""
    counts = {StatusCategory.IN_PROGRESS: 0, StatusCategory.TODO: 0, StatusCategory.DONE: 0}
    for n in range(1, items + 1):  # the composition `populate` gives the bench's sites
        cat = (StatusCategory.IN_PROGRESS if n % 100 == 0 or n % 40 == 1
               else StatusCategory.TODO if n % 10 < 2 else StatusCategory.DONE)
        counts[cat] += 1
    packs = load_ruleset(sorted((Path(__file__).resolve().parents[1] / "rules" / "packs").glob("*.yml")))
    scheduled = [r for r in packs.rules if "schedule" in r.triggers]
    out: dict[str, Any] = {"items": items, "rules": [r.name for r in scheduled], "sweeps_per_hour": 4,
                           "changes_per_hour": changes_per_hour, "new_flags_per_hour": new_flags_per_hour}
    for tracker, measured in steady.items():
        full_pages = follow_pages = 0.0
        window_h = 0.25 + 5 / 60 + (14 if tracker == "jira" else 0)  # since the last run began, with margins
        for rule in scheduled:
            query = rule.pushdown(NOW)
            candidates = sum(counts.get(c, 0) for c in query.status_categories) if query.status_categories else items
            full_pages += math.ceil(candidates / page)
            changed = min(candidates, changes_per_hour * window_h)  # every change counted as a candidate
            follow_pages += max(1, math.ceil(changed / page))  # one search at least, however quiet
        full_sweeps_per_hour = 1 / 24  # one full sweep a day, follow-ups the other times
        sweep_reads = full_pages * full_sweeps_per_hour + follow_pages * (4 - full_sweeps_per_hour)
        webhook = changes_per_hour * measured["webhook_reads_per_event"]
        flags = new_flags_per_hour * (1 + measured["writes_per_new_flag"])  # read again, then the writes
        total = sweep_reads + webhook + flags
        naive_every_time = full_pages * 4
        figures: dict[str, Any] = {
            "full_sweep_requests": int(full_pages), "requests_per_hour_full_every_time": int(naive_every_time),
            "sweep_requests_per_hour": round(sweep_reads), "webhook_refetches_per_hour": round(webhook),
            "write_back_requests_per_hour": round(flags), "requests_per_hour": round(total)}
        if tracker == "linear" and measured["advertised_requests_per_hour"]:
            budget = float(measured["advertised_requests_per_hour"])
            fit = (budget - sweep_reads - flags) / max(measured["webhook_reads_per_event"], 1e-9)
            figures |= {"budget_per_hour": budget, "share_of_budget": round(total / budget, 3),
                        "room_per_hour": round(budget - total), "changes_per_hour_that_fit": max(0, round(fit))}
        else:  # Jira limits API tokens per second per endpoint; the stub sends no Jira limit header
            figures |= {"average_per_second": round(total / 3600, 3),
                        "full_sweep_search_per_second_over_10_min": round(full_pages / 600, 2)}
        out[tracker] = figures
        print(f"1M site, {tracker:6}: {figures['requests_per_hour']:,} requests/hour "
              f"(sweeps {figures['sweep_requests_per_hour']:,}, webhook refetches {figures['webhook_refetches_per_hour']:,}, "
              f"write-backs {figures['write_back_requests_per_hour']:,}; full sweeps every time would be "
              f"{figures['requests_per_hour_full_every_time']:,})"
              + (f" — {figures['share_of_budget']:.0%} of Linear's {figures['budget_per_hour']:,.0f}/hour"
                 if "budget_per_hour" in figures else f" — {figures['average_per_second']}/s on average"), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--trackers", nargs="+", default=["jira", "linear"], choices=["jira", "linear"])
    parser.add_argument("--intervals", type=int, default=4, help="later sweeps, 15 minutes apart, in the steady state")
    parser.add_argument("--changes-per-hour", type=int, default=2000, help="issue changes an hour on the 1M site")
    parser.add_argument("--new-flags-per-hour", type=int, default=100, help="new flags an hour on the 1M site")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="flowkeeper-bench-sweep-"))
    print(f"site: 1% stalled, ~2.5% other in progress, ~20% to do, the rest done; page size {UNLIMITED.page_size}; "
          "blast-radius guard and write budget lifted")
    results: dict[str, dict[str, Any]] = {}
    try:
        for tracker in args.trackers:
            results[tracker] = {str(size): measure(tracker, size, workdir) for size in args.sizes}
        steady = {t: steady_state(t, max(args.sizes), args.intervals, workdir) for t in args.trackers}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for tracker, by_size in results.items():
        largest = by_size[str(max(args.sizes))]
        share = largest["reads"] / max(largest["naive_reads"], 1)
        verdict = "met" if share <= 0.05 else "MISSED"
        print(f"goal ({tracker}, {max(args.sizes):,} items): reads at most 5% of the naive sweep's — {share:.2%}, {verdict}")
    results_out: dict[str, Any] = {**results, "steady": {t: {str(max(args.sizes)): v} for t, v in steady.items()},
                                   "million": million(steady, args.changes_per_hour, args.new_flags_per_hour)}
    print(json.dumps(results_out))


if __name__ == "__main__":
    main()
