"""Flow efficiency and the cycle-time scatterplot on hand-built histories."""

from __future__ import annotations

from datetime import date

import pytest

from integration.reports.context import Ask
from integration.reports.efficiency import Waiting
from integration.reports.report import build_report
from integration.reports.scope import Scope
from integration.settings import SettingsError
from integration.settings_reports import waiting_statuses
from integration.store.store import Store
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(14))


@pytest.fixture
def team(any_store: Store) -> Store:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(1, "In Progress"), (3, "In Review"), (4, "Done")])  # 2 active, 1 waiting
    b.item("ENG-2", 0, [(2, "In Progress"), (3, "To Do"), (5, "In Progress"), (6, "Done")])  # moved back
    b.item("ENG-3", 0, [(1, "In Progress"), (2, "Done"), (4, "In Progress"), (5, "Done")])  # reopened
    b.item("ENG-4", 0, [(3, "Done")])  # finished without starting: no cycle time, left out
    b.item("ENG-5", 0, [(0, "In Progress"), (1, "Blocked"), (3, "In Progress"), (4, "Done")])
    return any_store


def test_flow_efficiency_splits_cycle_time_into_active_and_waiting(team: Store) -> None:
    report = build_report(team.engine, PERIOD, sections=["time_in_status"])
    eff = report.get("flow_efficiency")
    assert eff is not None
    assert {(r[0], r[2]): r[3] for r in eff.rows} == {
        ("In Progress", "active"): 8.0,
        ("To Do", "waiting"): 2.0,  # ENG-2 moved back
        ("Done", "waiting"): 2.0,  # ENG-3 done, then reopened
        ("Blocked", "waiting"): 2.0,
        ("In Review", "waiting"): 1.0,
    }
    assert dict(eff.summary) == {"efficiency": 0.533, "items": 4, "median_item_efficiency": 0.5,
                                 "active_days": 8.0, "waiting_days": 7.0}


def test_a_teams_own_waiting_statuses_replace_the_name_rule(team: Store) -> None:
    ask = Ask(waiting={"ENG": ("blocked",)})
    eff = build_report(team.engine, PERIOD, sections=["time_in_status"], ask=ask).get("flow_efficiency")
    assert eff is not None and eff.summary["efficiency"] == 0.6  # In Review counts as active: 9 of 15 days
    other = Ask(waiting={"OPS": ("in progress",)})  # another team's list changes nothing here
    eff = build_report(team.engine, PERIOD, sections=["time_in_status"], ask=other).get("flow_efficiency")
    assert eff is not None and eff.summary["efficiency"] == 0.533


@pytest.mark.parametrize(("status", "category", "waits"), [
    ("In Review", "in_progress", True), ("Code review", "in_progress", True), ("Blocked", "in_progress", True),
    ("Waiting for customer", "in_progress", True), ("On Hold", "in_progress", True),
    ("Ready for QA", "in_progress", True), ("In Progress", "in_progress", False), ("QA", "in_progress", False),
    ("Reviewer assigned", "in_progress", False), ("Backlog", "todo", True), ("Done", "done", True),
])
def test_default_waiting_statuses_by_category_and_name(status: str, category: str, waits: bool) -> None:
    assert Waiting.of({}).waits("ENG", status, category) is waits


def test_the_scatterplot_has_a_dot_per_finished_item_with_percentile_lines(team: Store) -> None:
    report = build_report(team.engine, PERIOD, sections=["flow"])
    scatter = report.get("cycle_scatter")
    assert scatter is not None and scatter.chart is not None
    assert scatter.rows == (
        ("ENG-1", date(2024, 3, 8), 3.0, "jira", "ENG"),
        ("ENG-5", date(2024, 3, 8), 4.0, "jira", "ENG"),
        ("ENG-3", date(2024, 3, 9), 4.0, "jira", "ENG"),  # reopened: first start to last done
        ("ENG-2", date(2024, 3, 10), 4.0, "jira", "ENG"),
    )  # ENG-4 finished without starting: no cycle time, no dot
    assert scatter.chart.refs == (("p50", 4.0), ("p85", 4.0), ("p95", 4.0))
    assert scatter.chart.x_domain == (date(2024, 3, 4), date(2024, 3, 18))


def test_waiting_statuses_are_configured_per_team_in_one_variable() -> None:
    env = {"FLOWKEEPER_WAITING_STATUSES": "ENG=In Review, Blocked ; *=Blocked"}
    assert waiting_statuses(env) == {"ENG": ("In Review", "Blocked"), "*": ("Blocked",)}
    assert waiting_statuses({}) == {}
    with pytest.raises(SettingsError, match="FLOWKEEPER_WAITING_STATUSES takes TEAM=Status"):
        waiting_statuses({"FLOWKEEPER_WAITING_STATUSES": "ENG"})
