"""Statements every webhook job runs, compiled once per database kind and run on the driver's cursor.

SQLAlchemy's way through a statement already built (its cache key, execution context, bind and
result processing, result object) costs the worker some ten times what SQLite takes to run a
one-row read: about 225,000 instructions a statement against 22,000 on the driver's cursor. A
`Prepared` statement is compiled by SQLAlchemy once per database kind, with the same bind and
result processors SQLAlchemy would use, and runs in the caller's transaction (the connection's
own; one that has not begun yet begins first, with the `begin` event SQLite's write gate listens
to). A driver's error is raised as SQLAlchemy raises it (`IntegrityError`, `OperationalError`, …).

Only statements whose every value is a parameter or a literal fit: no expanding `IN`, no column
default computed in Python (both are refused when the statement is compiled). An INSERT or UPDATE
sets the columns its parameters name, as SQLAlchemy's would, compiled once for each set of names.
Listeners of the engine's `before_cursor_execute` event still see each statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, Insert, Update
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any] | None


class _Compiled(NamedTuple):
    sql: str
    positional: bool
    binds: tuple[tuple[str, str, Any, bool, Processor], ...]  # key given, name in SQL, literal, required, processor
    columns: tuple[str, ...]  # the result's column names, for the row's attributes
    types: tuple[Any, ...]  # their types, each turned into a result processor once the driver describes it


class Prepared:
    """`statement`, compiled once per database kind (an INSERT or UPDATE: and set of parameter
    names): `rows`, `first` and `rowcount` run it, `many` runs it for each of several rows."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sets_values = isinstance(statement, Insert | Update)
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}
        self._results: dict[tuple[str, tuple[Any, ...]], tuple[type[Any], tuple[Processor, ...]]] = {}  # by SQL

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row, each a named tuple (`row.column`, or unpacked in the statement's column order)."""
        params = params or {}
        cursor = self._run(conn, params)
        try:
            fetched = cursor.fetchall()
            return self._rows(conn.dialect, params, cursor.description, fetched) if fetched else []
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row (a named tuple), or None."""
        params = params or {}
        cursor = self._run(conn, params)
        try:
            row = cursor.fetchone()
            return None if row is None else self._rows(conn.dialect, params, cursor.description, [row])[0]
        finally:
            cursor.close()

    def rowcount(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """The rows an INSERT, UPDATE or DELETE matched."""
        cursor = self._run(conn, params or {})
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once for each of `rows` (each naming the same parameters)."""
        if rows:
            self._run(conn, rows[0], rows).close()

    def compiled(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, tuple(params) if self._sets_values else ())
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, dialect, list(key[1]))
        return found

    def _run(self, conn: Connection, params: Mapping[str, Any],
             rows: Sequence[Mapping[str, Any]] | None = None) -> Any:
        compiled = self.compiled(conn.dialect, params)
        values: Any = _bound(compiled, params) if rows is None else [_bound(compiled, row) for row in rows]
        if not conn.in_transaction():
            conn.begin()
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        if conn.engine.dispatch.before_cursor_execute:  # someone watches the engine's statements (tests count them)
            conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, values, None, rows is not None)
        try:
            if rows is None:
                cursor.execute(compiled.sql, values)
            else:
                cursor.executemany(compiled.sql, values)
        except Exception as error:
            cursor.close()
            _raise(conn, error, compiled.sql, values, dbapi, cursor)
        return cursor

    def _rows(self, dialect: Dialect, params: Mapping[str, Any], description: Sequence[Any],
              fetched: list[Any]) -> list[Any]:
        compiled = self.compiled(dialect, params)
        key = (compiled.sql, tuple(d[1] for d in description))
        shape = self._results.get(key)
        if shape is None:
            row = namedtuple("Row", compiled.columns, rename=True)  # type: ignore[misc]  # noqa: PYI024
            processors = tuple(t.dialect_impl(dialect).result_processor(dialect, d[1])
                               for t, d in zip(compiled.types, description, strict=True))
            shape = self._results[key] = (row, processors)
        row_type, processors = shape
        if not any(processors):
            return [row_type._make(r) for r in fetched]
        return [row_type._make([v if p is None else p(v) for p, v in zip(processors, r, strict=True)])
                for r in fetched]


def _compile(statement: Any, dialect: Dialect, values: list[str]) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=values or None)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError(f"a column default computed in Python cannot be prepared: {compiled.string}")
    if "__[POSTCOMPILE_" in compiled.string:
        raise ValueError(f"an expanding or literal-execute parameter cannot be prepared: {compiled.string}")
    escaped = compiled.escaped_bind_names or {}
    binds = []
    for name in compiled.positiontup if compiled.positional else compiled.binds:
        bind = compiled.binds[name]
        if bind.callable is not None:
            raise ValueError(f"a parameter computed at execution cannot be prepared: {compiled.string}")
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((bind.key, escaped.get(name, name), bind.value, bool(bind.required), processor))
    columns = compiled._result_columns  # (key, name, objects, type) as SQLAlchemy's own results read them
    return _Compiled(compiled.string, bool(compiled.positional), tuple(binds),
                     tuple(str(c[0]) for c in columns), tuple(c[3] for c in columns))


def _bound(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    """The driver's parameters: a tuple in the SQL's order (SQLite), or a dict by name (psycopg)."""
    values = []
    for key, _, literal, required, processor in compiled.binds:
        if key in params:
            value = params[key]
        elif required:
            raise InvalidRequestError(f"A value is required for bind parameter {key!r}")
        else:
            value = literal
        values.append(value if processor is None else processor(value))
    if compiled.positional:
        return tuple(values)
    return {name: value for (_, name, *_), value in zip(compiled.binds, values, strict=True)}


def _raise(conn: Connection, error: Exception, sql: str, values: Any, dbapi: Any, cursor: Any) -> None:
    """The driver's error as SQLAlchemy raises it; a lost connection is not handed out again."""
    dialect = conn.dialect
    dbapi_error = getattr(dialect.loaded_dbapi, "Error", Exception)
    if not isinstance(error, dbapi_error):
        raise error
    lost = dialect.is_disconnect(error, dbapi, cursor)  # type: ignore[arg-type]  # a driver error, checked above
    if lost:
        conn.invalidate(error)
    raise DBAPIError.instance(sql, values, error, dbapi_error, connection_invalidated=lost,
                              dialect=dialect) from error
