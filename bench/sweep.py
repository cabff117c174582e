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
the budget read from the rate-limit headers the stub tracker sends. Linear: requests and
complexity points per hour per API key. Jira limits API tokens per second per endpoint and
method (the burst limit) and per issue on writes: each endpoint's busiest second (a full
sweep's searches over its job window, `--full-sweep-minutes`; webhook refetches and
write-backs spread over the hour) against the `X-RateLimit-Limit` the stub's answers on that
endpoint carried, and the pace of writes to one flagged issue against the `X-RateLimit-Limit`
of the stub's `jira-per-issue-on-write` 429 (drawn by writing to one issue until it refuses).
The change and flag rates of the big site are assumptions, printed with the figures
(`--changes-per-hour`, `--new-flags-per-hour`). The last line is one JSON object.

    .venv/bin/python bench/sweep.py [--sizes 10000 100000] [--trackers jira linear] [--intervals 4]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from inspect import signature
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import responses

from integration.settings_sweeps import SweepSettings
from integration.store.migrate import upgrade
from integration.stubtracker.site import Issue as FakeIssue
from integration.stubtracker.state import is_write
from integration.sweeps.reread import BATCH
from integration.sweeps.sweep import FOLLOW_UP_MARGIN, Sweeper
from integration.trackers.base import RateLimited
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.jql import CLOCK_SKEW, SWEEP_PAGES_WITHIN
from integration.trackers.jira.pacing import endpoint
from integration.trackers.linear.complexity import estimate
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
MOVES_PER_INTERVAL = 20  # people moving in-progress items between statuses, through webhooks
PAIRED_SHARE = 0.5  # of the comments, those 20 s after a move of the same item (the rest on untouched items)
GRAPHQL_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)", re.MULTILINE)


def request_kind(entry: dict[str, Any]) -> str:
    """What one request the stub logged was for: a search page, reading candidates again before
    writing (`read_again`), reading one item (`read`), an item's record (changelog, comments,
    history), a write, or a read a write needs (looking for its own marked comment, a label)."""
    path, body = entry["path"], entry.get("json") or {}
    if is_write(entry):
        return "write"
    if path == "/graphql":
        found = GRAPHQL_OPERATION.search(str(body.get("query") or ""))
        operation = found.group(1) if found else ""
        if operation.startswith("SearchIssues"):
            return "read_again" if ((body.get("variables") or {}).get("filter") or {}).get("id") else "search"
        return {"GetIssue": "read", "IssueActivity": "record"}.get(operation, "write_read")
    if path.endswith("/search/jql"):
        return "search"
    if path.endswith("/issue/bulkfetch"):
        return "read_again"
    if re.fullmatch(r"/rest/api/3/issue/[^/]+", path):
        return "read"
    if path.endswith(("/changelog", "/comment")) and entry["method"] == "GET" and "startAt" in entry["query"] \
            and entry["query"].get("orderBy") != "created":
        return "record"
    return "write_read"


def count_requests(world: World, since: int) -> dict[str, int]:
    """The stub's logged requests from index `since` on, by `request_kind`."""
    counts: dict[str, int] = {}
    for entry in world.state.requests[since:]:
        kind = request_kind(entry)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def linear_points(world: World, since: int) -> dict[str, float]:
    """Linear complexity points of the logged requests from `since` on, by kind (the client's estimate)."""
    points: dict[str, float] = {}
    for entry in world.state.requests[since:]:
        if entry["path"] != "/graphql":
            continue
        body = entry.get("json") or {}
        kind = request_kind(entry)
        points[kind] = points.get(kind, 0.0) + estimate(str(body.get("query")), body.get("variables") or {})
    return points


def endpoint_shares(entries: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """For each kind of request (`request_kind`, or `webhook` for a delivery's reads), the share
    of it each endpoint (method and route, as Jira's burst limit scopes them) carried."""
    counts: dict[str, dict[str, int]] = {}
    for kind, entry in entries:
        by_endpoint = counts.setdefault(kind, {})
        scope = endpoint(entry["method"], entry["path"])
        by_endpoint[scope] = by_endpoint.get(scope, 0) + 1
    return {kind: {e: round(n / sum(found.values()), 4) for e, n in sorted(found.items())}
            for kind, found in sorted(counts.items())}


PROBE_WRITES = 20  # writes to one issue before giving up on drawing a per-issue 429


def jira_limits(world: World, key: str) -> dict[str, Any]:
    """Jira's budgets as the stub's headers give them to the client: each endpoint's burst limit
    (the `X-RateLimit-Limit` its answers carried, as the client's pacer kept it), and the per-issue
    write limit (the `X-RateLimit-Limit` of a `jira-per-issue-on-write` 429, drawn by writing to one
    issue with the stub enforcing its limits)."""
    client = world.services.clients["jira"]
    assert isinstance(client, JiraClient)
    pacer = client.http.pacer
    item = client.get_item(key)
    world.state.jira_limits.enforce = True
    try:
        for n in range(PROBE_WRITES):
            try:
                client.add_labels(item, [f"probe-{n}"])
            except RateLimited:
                if pacer.issue_write_limit is not None:
                    break
    finally:
        world.state.jira_limits.enforce = False
    return {"burst_per_second": dict(sorted(pacer.limits.items())), "issue_writes_per_second": pacer.issue_write_limit}


def steady_state(tracker: str, size: int, intervals: int, workdir: Path) -> dict[str, Any]:
    """The first sweep, then one every 15 minutes with webhooks keeping the mirror fresh; every
    request after the first sweep is counted from the stub's log, by what it was for."""
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
        world.site.keep_log = True
        world.state.requests.clear()
        sweeps, by_kind = [], {"comment_after_change": [0, 0], "comment": [0, 0], "move": [0, 0]}  # deliveries, reads
        untouched = iter(busy[MOVES_PER_INTERVAL * intervals:])  # items nobody changed in the last 15 minutes
        swept: list[tuple[int, int]] = []  # the request log's ranges that sweeps made (the rest: deliveries)
        for j in range(intervals):
            moved = busy[j * MOVES_PER_INTERVAL:(j + 1) * MOVES_PER_INTERVAL]
            for c, key in enumerate(moved):  # a move, and 20 s later a comment: on the same item, or another
                world.later(seconds=20)
                status = "In Review" if world.site.issues[key].status == "In Progress" else "In Progress"
                before = world.site.reads
                world.moved(key, status, "in_progress", ADA)
                by_kind["move"][0] += 1
                by_kind["move"][1] += world.site.reads - before
                world.later(seconds=20)
                paired = c < COMMENTS_PER_INTERVAL * PAIRED_SHARE
                target = key if paired else next(untouched)
                before = world.site.reads
                world.commented(target, ADA, "Still on it.")
                kind = "comment_after_change" if paired else "comment"
                by_kind[kind][0] += 1
                by_kind[kind][1] += world.site.reads - before
            world.later(seconds=15 * 60 - 40 * len(moved))
            mark, reads, writes, started = len(world.state.requests), world.site.reads, world.site.writes, time.perf_counter()
            run = world.sweep("stalled")
            assert run is not None and run.state == "done", run
            swept.append((mark, len(world.state.requests)))
            counted = count_requests(world, mark)
            sweeps.append({"reads": world.site.reads - reads, "writes": world.site.writes - writes,
                           "follow_up": run.query.get("changed_since") is not None,
                           "searched": run.candidates - int(run.stats.get("from_mirror", 0)),
                           "from_mirror": int(run.stats.get("from_mirror", 0)),
                           "refetched": int(run.stats.get("refetched", 0)), "requests": counted,
                           "seconds": round(time.perf_counter() - started, 2)})
        budget = world.services.clients[tracker].rate_budget() if tracker == "linear" else None  # type: ignore[attr-defined]
        points = linear_points(world, 0) if tracker == "linear" else {}
        logged = count_requests(world, 0)
        in_sweeps = {i for start, end in swept for i in range(start, end)}
        shares = endpoint_shares([(request_kind(e) if i in in_sweeps else "webhook", e)
                                  for i, e in enumerate(world.state.requests)])
        limits = jira_limits(world, busy[0]) if tracker == "jira" else None
        world.services.store.engine.dispose()
    for j, one in enumerate(sweeps, 1):
        print(f"{tracker:6} {size:>7,} items, sweep {j + 1} (+{15 * j} min): reads {one['reads']:>5,} "
              f"(searched {one['searched']:,}, from the mirror {one['from_mirror']:,}, read again {one['refetched']} "
              f"in {one['requests'].get('read_again', 0)} request(s)), writes {one['writes']:>3}, "
              f"{one['seconds']:.1f} s", flush=True)
    later = [one["reads"] for one in sweeps[1:]] or [sweeps[-1]["reads"]]
    webhooks = sum(n for n, _ in by_kind.values())
    new_flags = NEW_PER_INTERVAL * intervals
    per_flag = {k: round(sum(o["requests"].get(k, 0) for o in sweeps) / max(new_flags, 1), 3)
                for k in ("write", "write_read")}
    out = {"first_sweep": full, "sweeps": sweeps, "webhooks": webhooks,
           "advertised_requests_per_hour": budget.requests_limit if budget else None,
           "advertised_complexity_per_hour": budget.complexity_limit if budget else None,
           "webhook_reads_per_event": round(sum(r for _, r in by_kind.values()) / max(webhooks, 1), 3),
           "webhook_reads_per_comment": round(by_kind["comment"][1] / max(by_kind["comment"][0], 1), 3),
           "webhook_reads_per_comment_after_change": round(
               by_kind["comment_after_change"][1] / max(by_kind["comment_after_change"][0], 1), 3),
           "webhook_reads_per_move": round(by_kind["move"][1] / max(by_kind["move"][0], 1), 3),
           "new_candidates_per_interval": NEW_PER_INTERVAL, "comments_per_interval": COMMENTS_PER_INTERVAL,
           "moves_per_interval": MOVES_PER_INTERVAL,
           "steady_reads_per_sweep": round(sum(later) / len(later), 1),
           "steady_share_of_full_reads": round(sum(later) / len(later) / max(full["reads"], 1), 4),
           "writes_per_new_flag": round(sum(o["writes"] for o in sweeps) / max(new_flags, 1), 2),
           "write_requests_per_new_flag": per_flag["write"], "write_reads_per_new_flag": per_flag["write_read"],
           "read_again_requests_per_sweep": round(sum(o["requests"].get("read_again", 0) for o in sweeps) / len(sweeps), 2),
           "single_reads_per_sweep": round(sum(o["requests"].get("read", 0) for o in sweeps) / len(sweeps), 2)}
    if points:  # Linear complexity points per request, by what it was for, over every request after the first sweep
        out["points_per_request"] = {k: round(p / max(logged.get(k, 0), 1), 1) for k, p in points.items()}
    out["endpoint_shares"] = shares
    if limits is not None:  # read from the headers the stub's Jira answers carried
        out["advertised_burst_per_second"] = limits["burst_per_second"]
        out["advertised_issue_writes_per_second"] = limits["issue_writes_per_second"]
    return out


def jira_burst(measured: dict[str, Any], hourly: dict[str, float], full_pages: float,
               full_sweep_minutes: float) -> dict[str, Any]:
    """Each Jira endpoint's requests an hour and busiest second against the burst limit its answers
    advertised, and the pace of writes to one flagged issue against the per-issue limit.

    A sweep's requests (searches, reading candidates again) go out during its job window: the
    full sweep's pages over `full_sweep_minutes`, the busiest time of the hour. Webhook refetches
    and write-backs follow people's changes and new flags, spread over the hour. Each kind is
    split over the endpoints that carried it in the steady state's log."""
    window_s = full_sweep_minutes * 60
    busiest = {"search": full_pages / window_s, "read_again": hourly["read_again"] / 4 / window_s,
               "webhook": hourly["webhook"] / 3600, "write": hourly["write"] / 3600,
               "write_read": hourly["write_read"] / 3600}
    limits = measured.get("advertised_burst_per_second") or {}
    endpoints: dict[str, dict[str, Any]] = {}
    for kind, shares in (measured.get("endpoint_shares") or {}).items():
        for scope, share in shares.items():
            if kind not in hourly:
                continue
            found = endpoints.setdefault(scope, {"requests_per_hour": 0.0, "peak_per_second": 0.0})
            found["requests_per_hour"] += hourly[kind] * share
            found["peak_per_second"] += busiest[kind] * share
    for scope, found in endpoints.items():
        found["requests_per_hour"] = round(found["requests_per_hour"])
        found["peak_per_second"] = round(found["peak_per_second"], 3)
        limit = limits.get(scope)
        found["burst_limit_per_second"] = limit
        found["share_of_burst_limit"] = round(found["peak_per_second"] / limit, 4) if limit else None
        found["room_per_second"] = round(limit - found["peak_per_second"], 3) if limit else None
    worst = max(endpoints, key=lambda e: endpoints[e]["share_of_burst_limit"] or 0.0, default=None)
    per_issue = measured.get("advertised_issue_writes_per_second")
    writes = measured["write_requests_per_new_flag"]  # all to the flagged issue
    pace = signature(JiraClient).parameters["write_interval"].default  # seconds between writes to one issue
    rate = 1 / pace if writes > 1 and pace else float(writes)
    return {"full_sweep_window_minutes": full_sweep_minutes, "endpoints": dict(sorted(endpoints.items())),
            "busiest_endpoint": worst,
            "peak_share_of_burst_limit": endpoints[worst]["share_of_burst_limit"] if worst else None,
            "issue_write_limit_per_second": per_issue, "issue_writes_per_new_flag": writes,
            "issue_write_rate_per_second": round(rate, 3),
            "share_of_issue_write_limit": round(rate / per_issue, 3) if per_issue else None}


def million(steady: dict[str, dict[str, Any]], changes_per_hour: int, new_flags_per_hour: int,
            comment_share: float, paired_share: float, items: int = 1_000_000, page: int = 100,
            full_sweep_minutes: float = 10.0) -> dict[str, Any]:
    """Requests per hour on a 1,000,000-issue site, the built-in packs swept every 15 minutes.

    Per-request figures come from the steady state's request log; the search window of a follow-up
    from the sweeps' own margins (and, on Jira, the relative bound's)."""
    counts = {StatusCategory.IN_PROGRESS: 0, StatusCategory.TODO: 0, StatusCategory.DONE: 0}
    for n in range(1, items + 1):  # the composition `populate` gives the bench's sites
        cat = (StatusCategory.IN_PROGRESS if n % 100 == 0 or n % 40 == 1
               else StatusCategory.TODO if n % 10 < 2 else StatusCategory.DONE)
        counts[cat] += 1
    packs = load_ruleset(sorted((Path(__file__).resolve().parents[1] / "rules" / "packs").glob("*.yml")))
    scheduled = [r for r in packs.rules if "schedule" in r.triggers]
    out: dict[str, Any] = {"items": items, "rules": [r.name for r in scheduled], "sweeps_per_hour": 4,
                           "changes_per_hour": changes_per_hour, "new_flags_per_hour": new_flags_per_hour,
                           "comment_share_of_changes": comment_share,
                           "comments_within_15_min_of_a_change_share": paired_share}
    flags_per_rule_sweep = new_flags_per_hour / 4 / max(len(scheduled), 1)  # spread evenly: the most requests
    for tracker, measured in steady.items():
        full_pages = follow_pages = 0.0
        window = INTERVAL + FOLLOW_UP_MARGIN + ((CLOCK_SKEW + SWEEP_PAGES_WITHIN) if tracker == "jira" else timedelta())
        window_h = window / timedelta(hours=1)
        for rule in scheduled:
            query = rule.pushdown(NOW)
            candidates = sum(counts.get(c, 0) for c in query.status_categories) if query.status_categories else items
            full_pages += math.ceil(candidates / page)
            changed = min(candidates, changes_per_hour * window_h)  # every change counted as a candidate
            follow_pages += max(1, math.ceil(changed / page))  # one search at least, however quiet
        full_sweeps_per_hour = 1 / 24  # one full sweep a day, follow-ups the other times
        searches = full_pages * full_sweeps_per_hour + follow_pages * (4 - full_sweeps_per_hour)
        read_again = 4 * len(scheduled) * math.ceil(flags_per_rule_sweep / BATCH) if new_flags_per_hour else 0
        sweep_reads = searches + read_again
        comment_reads = (paired_share * measured["webhook_reads_per_comment_after_change"]
                         + (1 - paired_share) * measured["webhook_reads_per_comment"])
        per_change = comment_share * comment_reads + (1 - comment_share) * measured["webhook_reads_per_move"]
        worst = comment_share * measured["webhook_reads_per_comment"] + (1 - comment_share) * measured["webhook_reads_per_move"]
        webhook = changes_per_hour * per_change
        flags = new_flags_per_hour * (measured["write_requests_per_new_flag"] + measured["write_reads_per_new_flag"])
        total = sweep_reads + webhook + flags
        naive_every_time = full_pages * 4
        figures: dict[str, Any] = {
            "full_sweep_requests": int(full_pages), "requests_per_hour_full_every_time": int(naive_every_time),
            "follow_up_window_minutes": round(window / timedelta(minutes=1)),
            "sweep_requests_per_hour": round(sweep_reads), "search_requests_per_hour": round(searches),
            "read_again_requests_per_hour": round(read_again), "webhook_refetches_per_hour": round(webhook),
            "webhook_reads_per_change": round(per_change, 3),
            "requests_per_hour_no_comment_after_change": round(sweep_reads + changes_per_hour * worst + flags),
            "write_back_requests_per_hour": round(flags), "requests_per_hour": round(total)}
        if tracker == "linear" and measured["advertised_requests_per_hour"]:
            budget = float(measured["advertised_requests_per_hour"])
            fit = (budget - sweep_reads - flags) / max(per_change, 1e-9)
            figures |= {"budget_per_hour": budget, "share_of_budget": round(total / budget, 3),
                        "room_per_hour": round(budget - total), "changes_per_hour_that_fit": max(0, round(fit))}
            points = measured.get("points_per_request") or {}
            if measured.get("advertised_complexity_per_hour") and points:
                used = (searches * points.get("search", 0) + read_again * points.get("read_again", 0)
                        + webhook * points.get("read", 0) + flags * points.get("write", 0))
                limit = float(measured["advertised_complexity_per_hour"])
                figures |= {"complexity_per_hour": round(used), "complexity_budget_per_hour": limit,
                            "share_of_complexity_budget": round(used / limit, 3)}
        else:  # Jira limits API tokens per second per endpoint and method, and writes per issue
            figures |= {"average_per_second": round(total / 3600, 3),
                        "full_sweep_search_per_second_over_10_min": round(full_pages / 600, 2)}
            hourly = {"search": searches, "read_again": read_again, "webhook": webhook,
                      "write": new_flags_per_hour * measured["write_requests_per_new_flag"],
                      "write_read": new_flags_per_hour * measured["write_reads_per_new_flag"]}
            figures |= jira_burst(measured, hourly, full_pages, full_sweep_minutes)
        out[tracker] = figures
        print(f"1M site, {tracker:6}: {figures['requests_per_hour']:,} requests/hour "
              f"(sweeps {figures['sweep_requests_per_hour']:,}, webhook refetches {figures['webhook_refetches_per_hour']:,}, "
              f"write-backs {figures['write_back_requests_per_hour']:,}; full sweeps every time would be "
              f"{figures['requests_per_hour_full_every_time']:,})"
              + (f" — {figures['share_of_budget']:.0%} of Linear's {figures['budget_per_hour']:,.0f}/hour"
                 if "budget_per_hour" in figures else f" — {figures['average_per_second']}/s on average")
              + (f"; {figures['complexity_per_hour']:,} complexity points/hour, {figures['share_of_complexity_budget']:.0%}"
                 f" of {figures['complexity_budget_per_hour']:,.0f}" if "complexity_per_hour" in figures else ""),
              flush=True)
        if "endpoints" in figures:
            print_jira_burst(figures)
    return out


def print_jira_burst(figures: dict[str, Any]) -> None:
    for scope, found in figures["endpoints"].items():
        limit = found["burst_limit_per_second"]
        against = (f"{found['share_of_burst_limit']:.1%} of its {limit:g}/s burst limit, {found['room_per_second']:g}/s "
                   "to spare" if limit else "no limit advertised")
        print(f"1M site, jira  : {scope}: {found['requests_per_hour']:,}/hour, at its busiest "
              f"{found['peak_per_second']:g}/s — {against}", flush=True)
    limit = figures["issue_write_limit_per_second"]
    print(f"1M site, jira  : writes to one flagged issue: {figures['issue_writes_per_new_flag']:g} a flag, "
          f"{figures['issue_write_rate_per_second']:g}/s at the client's pace — "
          + (f"{figures['share_of_issue_write_limit']:.0%} of the {limit:g}/s per-issue write limit" if limit
             else "no per-issue limit advertised"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--trackers", nargs="+", default=["jira", "linear"], choices=["jira", "linear"])
    parser.add_argument("--intervals", type=int, default=4, help="later sweeps, 15 minutes apart, in the steady state")
    parser.add_argument("--changes-per-hour", type=int, default=2000, help="issue changes an hour on the 1M site")
    parser.add_argument("--new-flags-per-hour", type=int, default=100, help="new flags an hour on the 1M site")
    parser.add_argument("--comment-share", type=float, default=0.5,
                        help="share of the 1M site's changes that are comments (the rest issue updates)")
    parser.add_argument("--full-sweep-minutes", type=float, default=10.0,
                        help="the job window a full sweep of the 1M site spreads its search pages over")
    parser.add_argument("--paired-share", type=float, default=PAIRED_SHARE,
                        help="share of the 1M site's comments that come within 15 minutes of another change to their issue")
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
                                   "million": million(steady, args.changes_per_hour, args.new_flags_per_hour,
                                                      args.comment_share, args.paired_share,
                                                      full_sweep_minutes=args.full_sweep_minutes)}
    print(json.dumps(results_out))


if __name__ == "__main__":
    main()
