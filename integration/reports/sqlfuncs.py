"""Portable SQL for what SQLite and PostgreSQL spell differently.

Durations are computed in the database as differences of epoch seconds, string
positions for parsing identities, and the two-argument min/max for clipping intervals.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String

from integration.store.portable import PortableFunction


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
