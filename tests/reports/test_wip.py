"""WIP now, WIP day by day from the history, and time in each status, with exact numbers."""

from __future__ import annotations

from datetime import date

import pytest

from integration.reports.scope import Scope
from integration.reports.wip import StatusTime, WipNow, time_in_status, wip_daily, wip_now
from integration.store.store import Store
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(5), teams=("ENG",))


@pytest.fixture
def team(any_store: Store) -> Builder:
    b = Builder(any_store)
    b.item("ENG-A", -3, [(-2, "In Progress")], assignee="ann")  # in progress all along
    b.item("ENG-B", 0.5, [(1.5, "In Progress"), (2.5, "In Review"), (3.5, "Done")], assignee="ann")
    b.item("ENG-C", -10, [(-5, "In Progress"), (2.25, "Done")])
    b.item("ENG-D", 1.2, first="In Progress")
    b.item("ENG-G", -1)  # waits in To Do all along
    b.item("OPS-1", 0, [(1, "In Progress")], team="OPS")
    gone = b.item("ENG-X", 0, [(1, "In Progress")])
    any_store.mirror.mark_deleted(gone, day(2))
    return b


def test_wip_now_by_status_and_assignee(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        now = wip_now(conn, PERIOD)
    assert now == WipNow(total=2, by_status=(("In Progress", 2),),
                         by_assignee=(("ann", "Ann", 1), (None, "unassigned", 1)))


def test_daily_wip_is_derived_from_the_history(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        series = wip_daily(conn, PERIOD)
    assert [(d.day, d.total, dict(d.by_status)) for d in series] == [
        (date(2024, 3, 4), 2, {"In Progress": 2}),
        (date(2024, 3, 5), 4, {"In Progress": 4}),
        (date(2024, 3, 6), 3, {"In Progress": 2, "In Review": 1}),
        (date(2024, 3, 7), 2, {"In Progress": 2}),
        (date(2024, 3, 8), 2, {"In Progress": 2}),
    ]


def test_daily_wip_with_a_period_starting_mid_day(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        series = wip_daily(conn, Scope(day(1.4), day(2.3), teams=("ENG",)))
    assert [(d.day, d.total) for d in series] == [(date(2024, 3, 5), 4), (date(2024, 3, 6), 3)]


def test_time_in_status_clips_stays_to_the_period(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        waits = time_in_status(conn, PERIOD)
    assert waits == (
        StatusTime("In Progress", "in_progress", 12.05, 4),
        StatusTime("To Do", "todo", 6.0, 2),
        StatusTime("In Review", "in_progress", 1.0, 1),
    )
    assert waits[0].mean_days == 3.01
