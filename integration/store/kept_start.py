"""Kept report figures an upgrade brought in empty are computed once, when the new release starts.

The migrations that add a kept figure (`stay_days`, `cycle_stays`, `cycles`, `first_starts`, `stay_times`) only
create its table: computing it takes this release's code, which a migration must not import (it
runs unchanged against every later release). Filling it at start rather than in the release
phase also takes in the history the old release wrote while the upgrade ran beside it, once
those processes are gone. A web or worker process that starts finds a kept table empty while the
history holds rows it must count (`MUST_COUNT`), and recomputes every kept figure in one
transaction (integration.store.kept_figures.rebuild), logged; afterwards the tables have rows
and starts go on at once. A table that is empty because the history gives it nothing (no item
started or finished yet) is not rebuilt.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, and_, exists, inspect, select, text
from sqlalchemy.exc import OperationalError

from integration.store.completions import STATUS_FIELDS
from integration.store.kept_figures import rebuild
from integration.store.tables import cycles, first_starts, stay_days, stay_times
from integration.store.tables import item_history as h
from integration.store.tables import items as i

log = logging.getLogger("flowkeeper.store")

_STATUS = h.c.field.in_(STATUS_FIELDS)
# a live item's stays: its open one is counted (stay_days) and an entry (stay_times)
_LIVE_STAYS = select(h.c.id).join(i, and_(i.c.tracker == h.c.tracker, i.c.item_id == h.c.item_id)).where(
    _STATUS, i.c.deleted.is_(False))
MUST_COUNT: dict[Table, Select[Any]] = {  # a kept table → the status rows that give it rows
    stay_days: _LIVE_STAYS,
    stay_times: _LIVE_STAYS,
    cycles: select(h.c.id).where(_STATUS, h.c.new_category == "done"),
    first_starts: select(h.c.id).where(_STATUS, h.c.new_category == "in_progress"),
}
FILL_LOCK = 7_405_013  # PostgreSQL advisory lock: processes starting together fill once


def missing(conn: Connection) -> list[str]:
    """The kept tables that are empty though the history gives them rows."""
    return [table.name for table, rows in MUST_COUNT.items()
            if not conn.execute(select(exists(select(table).limit(1)))).scalar_one()
            and conn.execute(select(exists(rows))).scalar_one()]


def fill_missing(engine: Engine) -> list[str]:
    """Fill the kept figures if a table is missing its rows; the tables that were, logged. A database
    not upgraded yet is left alone (`flowkeeper db upgrade` comes first), and one that cannot be
    reached now is left to the next start: a process never fails to start for it."""
    try:
        return _fill_missing(engine)
    except OperationalError as error:
        log.warning("db.kept_figures.unchecked", extra={"error": type(error).__name__})
        return []


def _fill_missing(engine: Engine) -> list[str]:
    if not all(inspect(engine).has_table(table.name) for table in MUST_COUNT):
        return []
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # held until this connection's session ends
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": FILL_LOCK})
        try:
            empty = missing(conn)
            conn.rollback()
            if empty:
                started = time.monotonic()
                rebuild(engine)
                log.warning("db.kept_figures.filled", extra={"tables": empty,
                                                             "seconds": round(time.monotonic() - started, 1)})
            return empty
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": FILL_LOCK})
