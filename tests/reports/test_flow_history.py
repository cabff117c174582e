"""What the age_percentile condition is fed: each team's recent cycle times and each item's first start."""

from __future__ import annotations

from integration.store.completions import first_starts, team_cycle_days
from integration.store.store import Store
from tests.reports.builder import Builder, day


def test_team_cycle_days_over_the_last_ninety_days(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(1, "In Progress"), (4, "Done")])
    b.item("ENG-2", 0, [(1, "In Progress"), (2, "Done"), (3, "In Progress"), (7.5, "Done")])  # reopened
    b.item("ENG-3", 0, [(5, "Done")])  # finished without starting: no cycle time
    b.item("ENG-4", -200, [(-199, "In Progress"), (-198, "Done")])  # outside the window
    b.item("OPS-1", 0, [(1, "In Progress"), (2, "Done")], team="OPS")
    b.item("LIN-1", 0, [(1, "In Progress"), (3, "Done")], team="ENG", tracker="linear")
    with any_store.engine.connect() as conn:
        assert team_cycle_days(conn, "jira", day(10)) == {"ENG": (3.0, 6.5), "OPS": (1.0,)}


def test_first_start_survives_moving_back(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(2, "In Progress"), (3, "To Do"), (5, "In Review")])
    b.item("ENG-2", 0)
    with any_store.engine.connect() as conn:
        assert first_starts(conn, "jira", [b.ids["ENG-1"], b.ids["ENG-2"]]) == {b.ids["ENG-1"]: day(2)}
