"""Aging work in progress against cycle-time percentiles, and the roadmap's slip risk."""

from __future__ import annotations

from datetime import date

import pytest

from integration.reports.aging import aging
from integration.reports.flow import flow_figures
from integration.reports.roadmap import RoadmapRow, roadmap, slip_risk
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


@pytest.mark.parametrize(("remaining", "per_day", "days_left", "expected"), [
    (0, 0.0, None, (0.0, "done")),
    (3, 0.5, None, (6.0, "no target")),
    (3, 0.5, -1, (6.0, "late")),
    (3, 0.5, 5, (6.0, "high")),
    (3, 0.5, 7, (6.0, "medium")),
    (3, 0.5, 8, (6.0, "low")),
    (3, 0.0, 30, (None, "high")),
])
def test_slip_risk(remaining: int, per_day: float, days_left: int | None,
                   expected: tuple[float | None, str]) -> None:
    assert slip_risk(remaining, per_day, days_left) == expected


def test_roadmap_progress_flags_and_slip_risk(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("EPIC-1", 0, type="Epic", due=day(42))
    epic = {"project": "Checkout", "parent": "EPIC-1"}
    b.item("ENG-1", 0, [(2, "In Progress"), (5, "Done")], **epic)
    b.item("ENG-2", 0, [(3, "In Progress"), (9, "Done")], **epic)
    stuck = b.item("ENG-3", 0, [(4, "In Progress")], **epic)
    waiting = b.item("ENG-4", 0, **epic)
    b.item("ENG-5", 0, [(2, "Won't Do")], **epic)
    b.episode(stuck, "stalled", 20)
    b.episode(waiting, "needs-assignee", 21)
    b.item("ENG-6", 0, [(1, "In Progress"), (10, "Done")])
    b.item("ENG-7", 0, [(1, "In Progress"), (11, "Done")])
    b.item("LIN-1", 0, [(1, "In Progress")], tracker="linear", team="LIN", project="Mobile")
    b.item("LIN-2", 0, tracker="linear", team="LIN", project="Mobile")
    b.item("LIN-3", 0, tracker="linear", team="LIN", project="Mobile")
    b.item("LIN-4", 0, [(1, "In Progress"), (6, "Done")], tracker="linear", team="LIN", project="Docs")
    targets = {("linear", "Mobile"): date(2024, 4, 11)}
    with any_store.engine.connect() as conn:
        rows = roadmap(conn, Scope(day(0), day(28)), CATALOG, targets)
    assert rows == (
        RoadmapRow("jira", "Checkout", "EPIC-1", "ENG", date(2024, 4, 15), total=4, done=2, in_progress=1,
                   stalled=1, flagged=2, weekly_throughput=1.0, forecast_days=14.0, days_left=14,
                   risk="medium"),
        RoadmapRow("linear", "Docs", None, "LIN", None, total=1, done=1, in_progress=0, stalled=0, flagged=0,
                   weekly_throughput=0.25, forecast_days=0.0, days_left=None, risk="done"),
        RoadmapRow("linear", "Mobile", None, "LIN", date(2024, 4, 11), total=3, done=0, in_progress=1,
                   stalled=0, flagged=0, weekly_throughput=0.25, forecast_days=84.0, days_left=10,
                   risk="high"),
    )
    assert rows[0].remaining == 2 and rows[0].progress == 0.5
