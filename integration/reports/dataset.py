"""The shape every report figure takes: a titled table of rows, with an optional chart.

One shape serves Markdown, HTML, JSON, CSV and the admin page, so each chart's numbers
are exactly the rows a person downloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from integration.reports.scope import Scope

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Chart:
    """kind: bar (grouped columns), hbar (a bar per row), line (series over x), strip (dots per category),
    area (stacked bands over x, first at the bottom), scatter (a dot per row: date × value)."""

    kind: str
    x: str
    y: tuple[str, ...]
    unit: str = ""
    refs: tuple[tuple[str, float], ...] = ()  # reference lines, e.g. the cycle-time percentiles
    x_domain: tuple[date, date] | None = None  # a scatter's date axis (default: the rows' own range)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    section: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    chart: Chart | None = None
    summary: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    note: str = ""
    open_table: bool = False  # the numbers matter as much as the chart: show the table unfolded
    brief: bool = False  # Markdown shows the summary only (a long series reads better as a chart)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Report:
    scope: Scope
    generated_at: datetime
    datasets: tuple[Dataset, ...]
    seconds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def sections(self) -> list[tuple[str, list[Dataset]]]:
        out: dict[str, list[Dataset]] = {}
        for d in self.datasets:
            out.setdefault(d.section, []).append(d)
        return list(out.items())


def plain(value: Any) -> Any:
    """A JSON/CSV-friendly cell: dates as ISO strings, everything else unchanged."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
