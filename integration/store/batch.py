"""Statements over a batch of items' ids, built once for a batch of one and once for more.

A webhook judges a batch of one item, a sweep page a batch of many. An expanding `IN`
parameter is rendered again by SQLAlchemy at every execution (some 10 µs, a third of what
such a read costs); the batch of one runs the same statement with `=` instead, compiled once
and run on the driver's cursor (`integration.store.prepared`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Executable, bindparam

from integration.store.prepared import Prepared

IdsMatch = Callable[[ColumnElement[Any]], ColumnElement[bool]]


class ForIds:
    """`build(match)` → the statement, where `match(column)` says the column is one of the batch's ids."""

    def __init__(self, build: Callable[[IdsMatch], Executable]) -> None:
        self.one = Prepared(build(lambda column: column == bindparam("one_id")))
        self.many = build(lambda column: column.in_(bindparam("ids", expanding=True)))

    def execute(self, conn: Connection, ids: Sequence[str], params: Mapping[str, Any]) -> Iterable[Any]:
        """The rows, each with the statement's columns as attributes (and unpacked in their order)."""
        if len(ids) == 1:
            return self.one.rows(conn, {**params, "one_id": ids[0]})
        return conn.execute(self.many, {**params, "ids": list(ids)})
