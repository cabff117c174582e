"""Cycle time, lead time and throughput on hand-built histories, with exact expected numbers."""

from __future__ import annotations

import random
from datetime import date

import pytest

from integration.reports.aging import cycle_stats
from integration.reports.flow import DurationStats, flow_figures
from integration.reports.scope import Scope
from integration.store.store import Store
from tests.reports import window_reference as before
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(14), teams=("ENG",), trackers=("jira",))


@pytest.fixture
def team(any_store: Store) -> Builder:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(1, "In Progress"), (4, "Done")])  # cycle 3, lead 4
    b.item("ENG-2", 0, [(2, "In Progress"), (3, "In Review"), (8, "Done")])  # cycle 6, lead 8
    b.item("ENG-3", 1, [(1, "In Progress"), (2, "Done")])  # cycle 1, lead 1
    b.item("ENG-4", 0, [(1, "In Progress"), (3, "Done"), (5, "In Progress"), (10, "Done")])  # reopened
    b.item("ENG-5", 0, [(6, "Done")])  # never started: lead 6 only
    b.item("ENG-6", 0, [(1, "In Progress"), (3, "Won't Do")])  # canceled
    b.item("ENG-7", 0, [(1, "In Progress"), (2, "Done"), (4, "In Progress")])  # reopened, open again
    b.item("ENG-8", -20, [(-15, "In Progress"), (-10, "Done")])  # done before the period
    b.item("OPS-1", 0, [(1, "In Progress"), (2, "Done")], team="OPS")
    b.item("LIN-1", 0, [(2, "In Progress"), (5, "Done")], team="LIN", tracker="linear")
    return b


def test_cycle_and_lead_time_percentiles_follow_the_definitions(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        figures = flow_figures(conn, PERIOD)
    assert figures.cycle == DurationStats(count=4, mean=4.75, p50=3.0, p85=9.0, p95=9.0)
    assert figures.lead == DurationStats(count=5, mean=5.8, p50=6.0, p85=10.0, p95=10.0)
    assert (figures.completed, figures.canceled, figures.no_start) == (5, 1, 1)


def test_distribution_and_weekly_throughput(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        figures = flow_figures(conn, PERIOD)
    assert figures.cycle_histogram == ((1, 1), (3, 1), (6, 1), (9, 1))
    assert figures.lead_histogram == ((1, 1), (4, 1), (6, 1), (8, 1), (10, 1))
    assert [(w.week, w.completed, w.cycle_p50) for w in figures.weeks] == [
        (date(2024, 3, 4), 3, 1.0),
        (date(2024, 3, 11), 2, 6.0),
    ]


def test_combined_view_counts_every_tracker_and_team(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        figures = flow_figures(conn, Scope(day(0), day(14)))
    assert figures.completed == 7
    assert figures.cycle.count == 6  # + OPS-1 (1 day) and LIN-1 (3 days)
    assert figures.cycle.p50 == 3.0  # sorted 1, 1, 3, 3, 6, 9: rank ceil(3) = 3


def test_nearest_rank_percentiles_on_twenty_items(any_store: Store) -> None:
    b = Builder(any_store)
    for n in range(1, 21):
        b.item(f"ENG-{n}", 0, [(1, "In Progress"), (1 + n, "Done")])
    with any_store.engine.connect() as conn:
        figures = flow_figures(conn, Scope(day(0), day(30)))
    assert figures.cycle == DurationStats(count=20, mean=10.5, p50=10.0, p85=17.0, p95=19.0)


def test_an_empty_period_has_no_figures(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        figures = flow_figures(conn, Scope(day(100), day(107)))
    assert figures.cycle.count == 0 and figures.cycle.p50 is None
    assert [w.completed for w in figures.weeks] == [0, 0]


def test_figures_to_the_microsecond_equal_the_history_read_directly(any_store: Store) -> None:
    """Times with any microseconds (SQLite's own date parsing rounds them to milliseconds), items done at
    one instant, items never started, weeks with nothing done: the figures, and the aging report's cycle
    times read alone, are those Python's datetime arithmetic gives on the history
    (tests/reports/window_reference.py), the items by when they were done and then by key."""
    b = Builder(any_store)
    pick = random.Random(17)
    shared = 9.123456789  # three items done at this instant
    for n in range(60):
        created = pick.uniform(-5, 20) if n % 20 else pick.uniform(0, 9)
        start = created + pick.uniform(0, 6) if n % 20 else pick.uniform(created, shared)
        done = start + pick.uniform(0, 9) if n % 20 else shared
        moves = [(start, "In Progress"), (done, "Done")] if n % 7 else [(done, "Done")]
        b.item(f"ENG-{97 - n}", created, moves)
    late = 0.9997 / 86400  # 0.9997 s past a whole second: at milliseconds, the next second
    b.item("ENG-98", 1 + late, [(2.5, "In Progress"), (4 + late, "Done")])
    b.item("ENG-99", 1.5, [(2 + late, "In Progress"), (5.5, "Done")])
    scope = Scope(day(0), day(45.5), teams=("ENG",))
    with any_store.engine.connect() as conn:
        figures, expected = flow_figures(conn, scope), before.flow_figures(conn, scope)
        alone = cycle_stats(conn, scope)  # the aging report's, when it reads nothing else of the completions
    assert figures == expected
    assert alone == expected.cycle
    assert figures.completed > 20 and figures.no_start > 0 and 0 in [w.completed for w in figures.weeks]
    assert len({c.done_at for c in figures.items}) < figures.completed  # some share an instant
    assert any(c.done_at.microsecond >= 999_500 for c in figures.items)
