"""Portable SQL for what SQLite and PostgreSQL spell differently.

Durations are computed in the database as differences of epoch seconds, string
positions for parsing identities, and the two-argument min/max for clipping intervals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine


class PortableFunction(FunctionElement[Any]):
    """A SQL function spelled once per dialect, declared by its subclasses' keywords:
    `default` (PostgreSQL) and `sqlite` are templates where `{}` stands for the arguments,
    `result` is the SQL type of the value."""

    inherit_cache = True

    def __init_subclass__(cls, *, default: str, sqlite: str, result: TypeEngine[Any], **kw: Any) -> None:
        cls.type = result
        cls.inherit_cache = True
        super().__init_subclass__(**kw)
        compiles(cls)(lambda element, compiler, **k: _spell(default, element, compiler, **k))
        compiles(cls, "sqlite")(lambda element, compiler, **k: _spell(sqlite, element, compiler, **k))


def _spell(template: str, element: PortableFunction, compiler: Any, **kw: Any) -> str:
    return template.format(compiler.process(element.clauses, **kw))


# date_part() is double precision; EXTRACT() is numeric since PostgreSQL 14 and much slower.
# SQLite keeps UTC timestamps as text; julianday() parses them with fractional seconds.
class epoch(
    PortableFunction,
    default="date_part('epoch', {})",
    sqlite="((julianday({}) - 2440587.5) * 86400.0)",
    result=Float(),
):
    """Seconds since 1970-01-01 UTC of a UTC timestamp column."""


class strpos(PortableFunction, default="strpos({})", sqlite="instr({})", result=Integer()):
    """1-based position of the second argument in the first; 0 when absent (case-sensitive)."""


class greatest(PortableFunction, default="GREATEST({})", sqlite="MAX({})", result=Float()):
    """The larger of two numbers."""


class least(PortableFunction, default="LEAST({})", sqlite="MIN({})", result=Float()):
    """The smaller of two numbers."""


class floor_int(PortableFunction, default="CAST(FLOOR({}) AS INTEGER)", sqlite="CAST({} AS INTEGER)", result=Integer()):
    """The integer part of a non-negative number (bucket indexes)."""


class unindexed(PortableFunction, default="{}", sqlite="+{}", result=String()):
    """A column SQLite must not look up by index here (its unary plus; the value is unchanged): for a
    filter that is cheaper checked on the rows another index finds than used to find them."""
