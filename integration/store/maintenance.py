"""Planner statistics for SQLite: the clock's daily `ANALYZE` (bounded) and `PRAGMA optimize`.

SQLite never gathers statistics on its own. Without them its planner walks the whole
history for a report instead of the items that moved (seconds instead of a fraction on a
large mirror). `analysis_limit` makes ANALYZE sample each index instead of reading it whole,
so the write lock is held for milliseconds, not the seconds a full pass over a million
history rows takes (webhooks wait for that lock). PostgreSQL's autovacuum analyzes by itself.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

log = logging.getLogger("flowkeeper.store")

ANALYSIS_LIMIT = 1000  # rows sampled per index: SQLite's advice for approximate statistics


def optimize(engine: Engine) -> str:
    """Refresh the planner's statistics where the database does not do it itself; says what ran."""
    if engine.dialect.name != "sqlite":
        return "statistics kept by the database (autovacuum)"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA optimize")
    log.info("store.optimized")
    return "ANALYZE (sampled) and PRAGMA optimize"
