"""Forecasts on hand-built histories: the daily throughput they draw from, and closed-form answers."""

from __future__ import annotations

from datetime import date

from integration.reports.context import Ask
from integration.reports.flow import completed_items
from integration.reports.forecast import scope_history
from integration.reports.report import build_report
from integration.reports.scope import Scope
from integration.store.store import Store
from tests.reports.builder import Builder, day


def test_daily_throughput_counts_each_item_once_on_its_last_done_day(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(0.2, "In Progress"), (0.5, "Done")])  # day 0
    b.item("ENG-2", 0, [(2.5, "Done")])  # finished without starting: day 2
    b.item("ENG-3", 0, [(1, "In Progress"), (1.5, "Done"), (2, "In Progress"), (4.5, "Done")])  # reopened: day 4
    b.item("ENG-4", 0, [(1, "In Progress"), (3.5, "Done"), (5, "In Progress")])  # moved back, open: never
    b.item("ENG-5", 0, [(1, "In Progress"), (3, "Won't Do")])  # canceled: never
    b.item("ENG-6", 0, [(7.5, "Done")])  # after the period
    b.item("ENG-7", 0, [(2.5, "Done"), (3, "In Progress"), (7.5, "Done")])  # done again after it: then, not now
    scope = Scope(day(0), day(7))
    with any_store.engine.connect() as conn:
        history = scope_history(conn, scope)  # counted in the database
        from_completions = scope_history(conn, scope, completed_items(conn, scope))  # as the flow figures count
    assert (history.start, history.end) == (date(2024, 3, 4), date(2024, 3, 11))
    assert history.throughput.daily == (1, 0, 1, 0, 1, 0, 0)
    assert from_completions == history


def test_history_starts_with_the_first_item_and_keeps_whole_days_only(any_store: Store) -> None:
    b = Builder(any_store)
    b.item("ENG-1", 3.7, [(4.5, "Done")])
    with any_store.engine.connect() as conn:
        history = scope_history(conn, Scope(day(-10), day(6.5)))
    # days before the team's first item are not idle days; the partial last day is left out
    assert (history.start, history.end, history.throughput.daily) == (date(2024, 3, 7), date(2024, 3, 10),
                                                                      (0, 1, 0))


def _constant_team(store: Store) -> None:
    b = Builder(store)
    for n in range(14):
        b.item(f"ENG-H{n}", 0, [(n + 0.2, "In Progress"), (n + 0.5, "Done")])
    for n in range(3):
        b.item(f"ENG-W{n}", 0, [(5, "In Progress")])


def test_constant_throughput_forecasts_the_closed_form(any_store: Store) -> None:
    _constant_team(any_store)
    report = build_report(any_store.engine, Scope(day(0), day(14)), sections=["forecast"],
                          ask=Ask(by=date(2024, 3, 24)))
    when, how_many = report.get("forecast_when"), report.get("forecast_how_many")
    assert when is not None and how_many is not None
    # three items in progress at one a day: done on day 3 (2024-03-20) at every confidence
    assert when.rows == (("50%", 3, date(2024, 3, 20)), ("85%", 3, date(2024, 3, 20)),
                         ("95%", 3, date(2024, 3, 20)))
    assert how_many.rows == (("50%", 7), ("85%", 7), ("95%", 7))  # 18th → 24th: seven days
    assert dict(when.summary) == {"items": 3, "trials": 10_000, "seed": 1}
    daily = report.get("throughput_daily")
    assert daily is not None and daily.column("completed") == [1] * 14


def test_the_forecast_is_reproducible_by_seed(any_store: Store) -> None:
    b = Builder(any_store)
    for n, finished in enumerate((0.5, 0.6, 2.5, 3.5, 3.6, 3.7, 6.5, 9.5, 12.5, 12.6)):
        b.item(f"ENG-{n}", 0, [(finished, "Done")])
    scope = Scope(day(0), day(14))

    def answer(seed: int) -> object:
        report = build_report(any_store.engine, scope, sections=["forecast"], ask=Ask(items=12, seed=seed))
        return [d.rows for d in report.datasets]

    assert answer(3) == answer(3)
    assert answer(3) != answer(4)


def test_a_short_history_says_it_cannot_forecast(any_store: Store) -> None:
    _constant_team(any_store)
    report = build_report(any_store.engine, Scope(day(0), day(10)), sections=["forecast"])
    when = report.get("forecast_when")
    assert when is not None and when.rows == ()
    assert when.note == "history too short to forecast: 10 day(s), at least 14 needed"
    assert [d.name for d in report.datasets] == ["throughput_daily", "forecast_when", "forecast_how_many"]
