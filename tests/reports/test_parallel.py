"""A report's sections run side by side on several connections and give the report one connection gives."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, create_engine

from integration.reports import flow, wip
from integration.reports import report as report_mod
from integration.reports.context import Context
from integration.reports.dataset import Dataset
from integration.reports.report import SECTIONS, build_report, plan_work, report_connections
from integration.reports.scope import RuleCatalog, Scope
from integration.settings_reports import load_report_settings
from integration.settings_values import SettingsError
from integration.store.store import Store
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(14))
CATALOG = RuleCatalog(stalled_rules=frozenset({"stalled"}), flag_labels={"stalled": ("stalled",)})


@pytest.fixture
def history(any_store: Store) -> Store:
    b = Builder(any_store)
    b.item("ENG-1", 0, [(1, "In Progress"), (3, "In Review"), (4, "Done")], assignee="ann", estimate=3)
    b.item("ENG-2", 0, [(2, "In Progress"), (3, "To Do"), (5, "In Progress"), (6, "Done")])
    b.item("ENG-3", -10, [(-8, "In Progress"), (-5, "Done"), (4, "In Progress"), (9, "Done")])
    b.item("ENG-4", 0, [(3, "Done")])
    stalled = b.item("ENG-5", 1, [(2, "In Progress"), (3, "Blocked")], assignee="bob")
    b.item("ENG-6", 1, [(2, "In Progress"), (3, "Won't Do")])
    b.item("ENG-7", -3, [(6, "In Progress")], project="Checkout", parent="ENG-100")
    b.item("ENG-100", -30, title="Checkout epic")
    b.item("OPS-1", 0, [(1, "In Progress"), (12, "Done")], team="OPS")
    b.episode(stalled, "stalled", 8)
    return any_store


def test_side_by_side_gives_the_report_one_connection_gives(history: Store) -> None:
    one = build_report(history.engine, PERIOD, catalog=CATALOG, now=day(14), connections=1)
    for connections in (2, 3):
        many = build_report(history.engine, PERIOD, catalog=CATALOG, now=day(14), connections=connections)
        assert many.datasets == one.datasets
        assert set(many.seconds) == set(SECTIONS)
    some = ["roadmap", "cfd", "flow", "wip"]
    assert (build_report(history.engine, PERIOD, sections=some, connections=3).datasets
            == build_report(history.engine, PERIOD, sections=some, connections=1).datasets)


def test_sections_side_by_side_compute_what_they_share_once(history: Store,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {}

    def counted(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(wip, "levels_daily", counted("levels", wip.levels_daily))
    monkeypatch.setattr(flow, "completed_items", counted("completed", flow.completed_items))
    build_report(history.engine, PERIOD, catalog=CATALOG, connections=3)
    assert calls == {"levels": 1, "completed": 1}


def _intercepted(monkeypatch: pytest.MonkeyPatch, name: str,
                 before: Callable[[], None]) -> None:
    real = report_mod.PARTS[name]

    def first(conn: Connection, ctx: Context) -> list[Dataset]:
        before()
        return real[0](conn, ctx)

    monkeypatch.setitem(report_mod.PARTS, name, (first, *real[1:]))


def test_a_write_committed_while_a_report_runs_shows_in_none_of_its_sections(
        history: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection reads the snapshot the report started on: an item finished (and started, with an
    assignee) by a write that commits while the sections run is in no section, whichever connection runs it."""
    sections = ["flow", "hygiene"]
    before = build_report(history.engine, PERIOD, catalog=CATALOG, sections=sections, connections=1)
    written = threading.Event()

    def write() -> None:
        Builder(history).item("ENG-8", 1, [(2, "In Progress"), (5, "Done")], assignee="cy", estimate=1)
        written.set()

    _intercepted(monkeypatch, "hygiene", write)
    _intercepted(monkeypatch, "flow", lambda: written.wait(10))
    during = build_report(history.engine, PERIOD, catalog=CATALOG, sections=sections, connections=2)
    assert written.is_set()
    assert during.datasets == before.datasets
    monkeypatch.undo()
    after = build_report(history.engine, PERIOD, catalog=CATALOG, sections=sections, connections=2)
    cycle, compliance = after.get("cycle_time"), after.get("compliance")
    old_cycle, old_compliance = before.get("cycle_time"), before.get("compliance")
    assert cycle is not None and old_cycle is not None and compliance is not None and old_compliance is not None
    assert cycle.summary["count"] == old_cycle.summary["count"] + 1
    assert compliance.rows[0][1] == old_compliance.rows[0][1] + 1


def test_an_error_in_one_section_is_the_reports_error(history: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("hygiene broke")

    _intercepted(monkeypatch, "hygiene", broken)
    with pytest.raises(RuntimeError, match="hygiene broke"):
        build_report(history.engine, PERIOD, connections=3)
    with pytest.raises(RuntimeError, match="hygiene broke"):
        build_report(history.engine, PERIOD, connections=1)


def test_work_is_planned_longest_first_with_the_levels_read_once() -> None:
    units = plan_work(list(SECTIONS))
    assert [[(name, k) for name, k, _ in unit] for unit in units] == [
        [("time_in_status", 0)], [("time_in_status", 1)], [("wip", 0), ("cfd", 0)], [("flow", 0)],
        [("hygiene", 0)], [("hygiene", 1)], [("aging", 0)], [("roadmap", 0)], [("forecast", 0)]]
    assert [[name for name, _, _ in u] for u in plan_work(["cfd", "flow"])] == [["cfd"], ["flow"]]


def test_the_number_of_connections_is_set_or_one_per_core_up_to_three() -> None:
    assert load_report_settings({}).connections == 0
    assert load_report_settings({"FLOWKEEPER_REPORT_CONNECTIONS": "1"}).connections == 1
    with pytest.raises(SettingsError, match="FLOWKEEPER_REPORT_CONNECTIONS"):
        load_report_settings({"FLOWKEEPER_REPORT_CONNECTIONS": "two"})
    assert report_connections(2) == 2
    assert 1 <= report_connections(0) <= 3


@pytest.mark.postgres
def test_connections_reading_side_by_side_start_no_parallel_workers(postgres_database: str) -> None:
    """One connection per core already keeps the cores busy: PostgreSQL's parallel workers would only
    add their start-up and hand-over. A report on one connection leaves the server's setting alone."""
    engine = create_engine(postgres_database)

    def workers(conn: Connection) -> str:
        return str(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar())

    try:
        with report_mod.snapshot_connections(engine, 1) as (alone,):
            server_default = workers(alone)
        assert server_default != "0"
        with report_mod.snapshot_connections(engine, 2) as conns:
            assert [workers(conn) for conn in conns] == ["0", "0"]
        with report_mod.snapshot_connections(engine, 1) as (alone,):
            assert workers(alone) == server_default  # SET LOCAL: gone with the report's transaction
    finally:
        engine.dispose()
