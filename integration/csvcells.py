"""Spreadsheet-safe CSV, one way for every export (audit log, reports, their downloads).

Tracker text (titles, reasons) ends up in these files. The csv module's own defaults —
`\r\n` rows, fields with a CR, LF, comma or quote quoted — keep a CR inside a field from
starting a new row in a spreadsheet, where the text after it would escape the formula
guard; and a cell that a spreadsheet would run as a formula gets a leading quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """A value as a cell: never a formula (titles and reasons come from trackers)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def writer(buffer: io.StringIO) -> Any:
    """The csv module's defaults: `\\r\\n` rows and minimal quoting (which then quotes any CR or LF)."""
    return csv.writer(buffer)


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow([safe_cell(v) for v in header])
    out.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()
