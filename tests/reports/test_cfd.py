"""Cumulative flow on a hand-built history: items that move back, finish without starting, or are canceled."""

from __future__ import annotations

from datetime import date

import pytest

from integration.reports.context import Ask
from integration.reports.report import SECTIONS, build_report
from integration.reports.scope import Scope
from integration.store.store import Store
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(5))
DAYS = [date(2024, 3, 4 + n) for n in range(5)]


@pytest.fixture
def history(any_store: Store) -> Store:
    b = Builder(any_store)
    b.item("A", -5)  # waiting in To Do all along
    b.item("B", 0, [(1, "In Progress"), (1.5, "In Review"), (2.5, "To Do"), (3, "In Progress"), (4, "Done")])
    b.item("C", -10, [(-8, "In Progress"), (-5, "Done")])  # done before the period: not in the diagram
    b.item("D", -10, [(-5, "Done"), (1.5, "In Progress"), (3.5, "Done")])  # reopened in the period
    b.item("E", 0, [(2, "Done")])  # finished without starting
    b.item("F", 1, [(2, "In Progress"), (3, "Won't Do")])  # canceled: leaves the diagram
    b.item("G", 6)  # created after the period
    b.item("OPS-1", 0, [(1, "In Progress")], team="OPS")
    return any_store


def test_bands_count_where_each_item_is_at_the_end_of_each_day(history: Store) -> None:
    report = build_report(history.engine, PERIOD, sections=["cfd"])
    cfd = report.get("cfd")
    assert cfd is not None and cfd.columns == ("day", "done", "in_progress", "todo")
    assert [(r[0], r[1:]) for r in cfd.rows] == list(zip(DAYS, [
        (0, 0, 4),  # A, B, E and OPS-1 wait
        (0, 3, 3),  # B, D, OPS-1 in progress; A, E, F to do
        (1, 3, 2),  # B moved back to To Do, E done, F started
        (2, 2, 1),  # D done again, B restarted, F canceled
        (3, 1, 1),  # B done
    ], strict=True))
    assert dict(cfd.summary) == {"done_at_end": 3, "in_progress_at_end": 1, "todo_at_end": 1}


def test_per_team_and_per_status_on_request(history: Store) -> None:
    eng = Scope(PERIOD.since, PERIOD.until, teams=("ENG",), trackers=("jira",))
    report = build_report(history.engine, eng, sections=["cfd"], ask=Ask(cfd_by="status"))
    cfd = report.get("cfd")
    assert cfd is not None and cfd.columns == ("day", "Done", "In Progress", "In Review", "To Do")
    assert [r[1:] for r in cfd.rows] == [
        (0, 0, 0, 3),
        (0, 1, 1, 3),  # D in progress, B in review
        (1, 2, 0, 2),
        (2, 1, 0, 1),
        (3, 0, 0, 1),
    ]


def test_a_whole_report_gives_each_section_the_figures_it_gives_alone(history: Store) -> None:
    """Sections share what they compute (daily levels, completed items) only within one report."""
    scope = Scope(day(-10), day(5))
    whole = build_report(history.engine, scope)
    alone = [d for name in SECTIONS for d in build_report(history.engine, scope, sections=[name]).datasets]
    assert whole.datasets == tuple(alone)
    wip = whole.get("wip_daily")
    assert wip is not None and wip.rows[-1][1] == 1  # OPS-1 in progress at the end, as the CFD's band says
