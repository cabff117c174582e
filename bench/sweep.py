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
naive sweep's reads and seconds. The last line is one JSON object.

    .venv/bin/python bench/sweep.py [--sizes 10000 100000] [--trackers jira linear]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import responses

from integration.settings_sweeps import SweepSettings
from integration.store.migrate import upgrade
from integration.sweeps.sweep import Sweeper
from rules.model import SearchQuery
from rules.ruleset import Rule
from tests.stub import populate
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


def one_sweep(tracker: str, size: int, naive: bool, workdir: Path) -> dict[str, Any]:
    folder = workdir / f"{tracker}-{size}-{'naive' if naive else 'pushdown'}"
    folder.mkdir()
    db_url = f"sqlite:///{folder / 'bench.sqlite'}"
    upgrade(db_url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        world = World(tracker, db_url, write_rules(folder / "rules", RULES), NOW, mock, settings=UNLIMITED)
        stalled = populate(world.site, "ENG", size, stalled_every=100, now=NOW)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--trackers", nargs="+", default=["jira", "linear"], choices=["jira", "linear"])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="flowkeeper-bench-sweep-"))
    print(f"site: 1% stalled, ~2.5% other in progress, ~20% to do, the rest done; page size {UNLIMITED.page_size}; "
          "blast-radius guard and write budget lifted")
    results: dict[str, dict[str, Any]] = {}
    try:
        for tracker in args.trackers:
            results[tracker] = {str(size): measure(tracker, size, workdir) for size in args.sizes}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for tracker, by_size in results.items():
        largest = by_size[str(max(args.sizes))]
        share = largest["reads"] / max(largest["naive_reads"], 1)
        verdict = "met" if share <= 0.05 else "MISSED"
        print(f"goal ({tracker}, {max(args.sizes):,} items): reads at most 5% of the naive sweep's — {share:.2%}, {verdict}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
