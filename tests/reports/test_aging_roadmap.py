"""Aging work in progress against cycle-time percentiles, and the roadmap's slip risk."""

from __future__ import annotations

from datetime import date

import pytest

from integration.reports.aging import aging, cycle_stats
from integration.reports.flow import DurationStats, flow_figures
from integration.reports.forecast import History
from integration.reports.montecarlo import Finish, Throughput
from integration.reports.roadmap import Outlook, RoadmapRow, outlook, roadmap
from integration.reports.scope import RuleCatalog, Scope
from integration.store.store import Store
from tests.reports.builder import Builder, day

CATALOG = RuleCatalog(stalled_rules=frozenset({"stalled"}))


def test_aging_wip_against_cycle_time_percentiles(any_store: Store) -> None:
    b = Builder(any_store)
    for n, cycle in enumerate((2, 4, 6, 8)):  # p50 = 4, p85 = p95 = 8
        b.item(f"ENG-{n}", 0, [(1, "In Progress"), (1 + cycle, "Done")])
    b.item("ENG-W1", 10, [(12, "In Progress")])
    b.item("ENG-W2", 5, [(8, "In Progress"), (13, "In Review")], assignee="ann")
    b.item("ENG-W3", 0, [(1, "In Progress"), (3, "Done"), (5, "In Progress")])
    b.item("ENG-W4", 10, first="In Progress")
    scope = Scope(day(0), day(14))
    with any_store.engine.connect() as conn:
        cycle = flow_figures(conn, scope).cycle
        rows = aging(conn, scope, cycle)
    assert (cycle.p50, cycle.p85, cycle.p95) == (4.0, 8.0, 8.0)
    assert [(r.key, r.age_days, r.in_status_days, r.zone) for r in rows] == [
        ("ENG-W3", 13.0, 9.0, "> p95"),
        ("ENG-W2", 6.0, 1.0, "p50–p85"),
        ("ENG-W4", 4.0, 4.0, "≤ p50"),
        ("ENG-W1", 2.0, 2.0, "≤ p50"),
    ]
    assert rows[1].assignee == "Ann" and rows[1].status == "In Review"


def test_an_age_counts_to_the_microsecond(any_store: Store) -> None:
    """431.9997 s is under 0.005 days: 0.0 days, rounded; read at milliseconds (SQLite's own parsing) the
    start's .0003 s would go and the age round up to 0.01."""
    b = Builder(any_store)
    b.item("ENG-1", 14 - 431.9997 / 86400, first="In Progress")
    b.item("ENG-2", 14 - 432.0003 / 86400, first="In Progress")
    scope = Scope(day(0), day(14))
    with any_store.engine.connect() as conn:
        rows = aging(conn, scope, cycle_stats(conn, scope))
    assert [(r.key, r.age_days, r.in_status_days) for r in rows] == [("ENG-2", 0.01, 0.01), ("ENG-1", 0.0, 0.0)]


HISTORY = History(date(2024, 3, 4), date(2024, 3, 18), Throughput((1,) * 14))
TWENTY = Finish(3, tuple(range(1, 21)))  # trials finishing on days 1..20 after the history


@pytest.mark.parametrize(("target", "expected"), [
    (None, Outlook(date(2024, 3, 27), date(2024, 4, 3), None, "no target")),
    (date(2024, 3, 17), Outlook(date(2024, 3, 27), date(2024, 4, 3), 0.0, "late")),  # before day 1
    (date(2024, 3, 22), Outlook(date(2024, 3, 27), date(2024, 4, 3), 0.25, "high")),  # 5 days: 5 of 20
    (date(2024, 3, 29), Outlook(date(2024, 3, 27), date(2024, 4, 3), 0.6, "medium")),  # 12 days
    (date(2024, 4, 3), Outlook(date(2024, 3, 27), date(2024, 4, 3), 0.85, "low")),  # 17 days
])
def test_outlook_turns_the_simulated_finish_into_a_chance_and_a_risk(target: date | None,
                                                                     expected: Outlook) -> None:
    assert outlook(HISTORY, TWENTY, target) == expected


def test_outlook_says_unknown_on_a_short_history_and_done_with_nothing_left() -> None:
    short = History(date(2024, 3, 4), date(2024, 3, 10), Throughput((1,) * 6))
    assert outlook(short, TWENTY, date(2024, 4, 3)).risk == "unknown"
    assert outlook(HISTORY, None, None).risk == "unknown"
    assert outlook(HISTORY, Finish(0, (0,) * 5), None) == Outlook(risk="done")


def test_roadmap_forecasts_each_epic_from_its_teams_throughput(any_store: Store) -> None:
    b = Builder(any_store)
    for n in range(14):  # ENG finishes exactly one item a day: a closed-form forecast
        b.item(f"ENG-H{n}", 0, [(n + 0.2, "In Progress"), (n + 0.5, "Done")], project="Shipped")
    b.item("EPIC-1", 0, type="Epic", due=day(17))  # 2024-03-21: day 4 of the forecast
    checkout = {"project": "Checkout", "parent": "EPIC-1"}
    stuck = b.item("ENG-1", 0, [(4, "In Progress")], **checkout)
    waiting = b.item("ENG-2", 0, **checkout)
    b.item("ENG-3", 0, **checkout)
    b.item("ENG-4", 0, **checkout)
    b.item("ENG-5", 0, [(2, "Won't Do")], **checkout)
    b.episode(stuck, "stalled", 10)
    b.episode(waiting, "needs-assignee", 11)
    b.item("EPIC-2", 0, type="Epic", due=day(17))
    for n in range(5):
        b.item(f"ENG-P{n}", 0, project="Payments", parent="EPIC-2")
    b.item("LIN-1", 0, [(1, "In Progress"), (6, "Done")], tracker="linear", team="LIN", project="Docs")
    b.item("LIN-2", 0, tracker="linear", team="LIN", project="Mobile")
    targets = {("linear", "Mobile"): date(2024, 4, 11)}
    with any_store.engine.connect() as conn:
        rows = roadmap(conn, Scope(day(0), day(14)), CATALOG, targets)
    by_project = {r.project: r for r in rows}
    assert by_project["Checkout"] == RoadmapRow(
        "jira", "Checkout", "EPIC-1", "ENG", date(2024, 3, 21), total=4, done=0, in_progress=1, stalled=1,
        flagged=2, weekly_throughput=7.0, forecast_p50=date(2024, 3, 21), forecast_p85=date(2024, 3, 21),
        on_time=1.0, days_left=4, risk="low")
    payments = by_project["Payments"]  # five items at one a day: done on day 5, one day late
    assert (payments.forecast_p85, payments.on_time, payments.risk) == (date(2024, 3, 22), 0.0, "high")
    assert (by_project["Shipped"].risk, by_project["Shipped"].progress) == ("done", 1.0)
    assert (by_project["Docs"].risk, by_project["Mobile"].risk) == ("done", "unknown")  # LIN: one item done
    assert by_project["Mobile"].days_left == 25 and by_project["Mobile"].forecast_p50 is None


def test_aging_alone_reads_the_cycle_time_percentiles_the_flow_figures_give(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(1, "In Progress"), (4, "Done")])  # cycle 3
    b.item("ENG-2", 0, [(1, "In Progress"), (3, "Done"), (5, "In Progress"), (10, "Done")])  # reopened: 9
    b.item("ENG-3", 0, [(6, "Done")])  # never started: no cycle time
    b.item("ENG-4", 0, [(1, "In Progress"), (2, "Done"), (4, "In Progress")])  # reopened, open again
    b.item("ENG-5", 0, [(2, "In Progress"), (15, "Done")])  # done after the period
    b.item("ENG-6", 0, [(2, "In Progress"), (5, "Done"), (6, "In Progress"), (16, "Done")])  # done again after
    scope = Scope(day(0), day(14))
    with any_store.engine.connect() as conn:
        alone = cycle_stats(conn, scope)
        assert alone == flow_figures(conn, scope).cycle
    assert alone == DurationStats(count=2, mean=6.0, p50=3.0, p85=9.0, p95=9.0)
