"""The clock's daily statistics job: SQLite's planner learns the history's shape; PostgreSQL keeps its own."""

from __future__ import annotations

from sqlalchemy import text

from integration.clock.periodic import PERIODIC
from integration.store.maintenance import optimize
from integration.store.store import Store
from tests.reports.builder import Builder


def test_the_statistics_job_gives_sqlite_statistics_for_the_history(any_store: Store) -> None:
    b = Builder(any_store)
    for n in range(30):
        b.item(f"ENG-{n}", n, [(n + 1, "In Progress"), (n + 2, "Done")])
    said = optimize(any_store.engine)
    if any_store.engine.dialect.name != "sqlite":
        assert "autovacuum" in said
        return
    with any_store.engine.connect() as conn:
        tables = set(conn.execute(text("SELECT tbl FROM sqlite_stat1")).scalars())
    assert {"item_history", "items"} <= tables
    assert optimize(any_store.engine) == said  # daily: running it again is harmless


def test_the_clock_runs_it_daily() -> None:
    job = next(j for j in PERIODIC if j.name == "statistics")
    assert job.every.days == 1 and job.queued.__module__ == "integration.clock.periodic"
