"""SQL spelled once per dialect, for what SQLite and PostgreSQL write differently.

The store's own queries and the reports' (`integration.reports.sqlfuncs`) declare their
functions here the same way: a subclass names its PostgreSQL and SQLite templates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine


class PortableFunction(FunctionElement[Any]):
    """A SQL function spelled once per dialect, declared by its subclasses' keywords:
    `default` (PostgreSQL) and `sqlite` are templates where `{}` (or `{0}`, to use it twice) stands for
    the arguments, `result` is the SQL type of the value."""

    inherit_cache = True

    def __init_subclass__(cls, *, default: str, sqlite: str, result: TypeEngine[Any], **kw: Any) -> None:
        cls.type = result
        cls.inherit_cache = True
        super().__init_subclass__(**kw)
        compiles(cls)(lambda element, compiler, **k: _spell(default, element, compiler, **k))
        compiles(cls, "sqlite")(lambda element, compiler, **k: _spell(sqlite, element, compiler, **k))


def _spell(template: str, element: PortableFunction, compiler: Any, **kw: Any) -> str:
    return template.format(compiler.process(element.clauses, **kw))


# Exact: EXTRACT() is numeric (PostgreSQL 14 and later), and SQLite's text is read as whole seconds (its
# own parse rounds fractions to milliseconds) plus the six digits of microseconds the store writes;
# strftime('%s'), not unixepoch(), which SQLite only has since 3.38 (Ubuntu 22.04's Python has 3.37).
class epoch_micros(
    PortableFunction,
    default="CAST(EXTRACT(EPOCH FROM {0}) * 1000000 AS BIGINT)",
    sqlite="(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))",
    result=BigInteger(),
):
    """Whole microseconds since 1970-01-01 UTC of a UTC timestamp column: the difference of two is the
    duration to the microsecond, as Python's datetime arithmetic gives it."""
