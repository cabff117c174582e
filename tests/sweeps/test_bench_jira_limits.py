"""bench/sweep.py reads Jira's budgets from the headers the stub's answers carry, not from
numbers of its own: set other limits on the stub and the bench's figures follow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bench.sweep import endpoint_shares, jira_burst, jira_limits, request_kind
from tests.sweeps.world import World, add_stalled, stalled_rules

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
SEARCH = "GET /rest/api/3/search/jql"


def test_the_bench_reads_jiras_burst_and_per_issue_limits_from_the_stubs_headers(
    make_world: Callable[..., World],
) -> None:
    world = make_world("jira", rules=stalled_rules(), now=NOW)
    world.state.jira_limits.burst_per_second, world.state.jira_limits.issue_writes_per_second = 37, 3
    add_stalled(world, 3)
    run = world.sweep("stalled")
    assert run is not None and run.state == "done"
    shares = endpoint_shares([(request_kind(e), e) for e in world.state.requests])
    limits = jira_limits(world, "ENG-1")
    assert limits["burst_per_second"][SEARCH] == 37.0
    assert limits["burst_per_second"]["PUT /rest/api/3/issue/{}"] == 37.0
    assert limits["issue_writes_per_second"] == 3.0
    assert not world.state.jira_limits.enforce  # the probe leaves the stub as it found it

    measured = {"endpoint_shares": shares, "advertised_burst_per_second": limits["burst_per_second"],
                "advertised_issue_writes_per_second": limits["issue_writes_per_second"],
                "write_requests_per_new_flag": 2.0}
    hourly = {"search": 400.0, "read_again": 24.0, "webhook": 1000.0, "write": 200.0, "write_read": 0.0}
    figures = jira_burst(measured, hourly, full_pages=3700, full_sweep_minutes=10)
    search = figures["endpoints"][SEARCH]
    assert search["peak_per_second"] == round(3700 / 600, 3) and search["burst_limit_per_second"] == 37.0
    assert search["share_of_burst_limit"] == round(3700 / 600 / 37, 4)
    assert figures["busiest_endpoint"] == SEARCH
    assert figures["issue_write_limit_per_second"] == 3.0
    assert figures["share_of_issue_write_limit"] == round(1.0 / 3, 3)  # one write a second to a flagged issue
