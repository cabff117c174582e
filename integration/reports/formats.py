"""A Report as Markdown (for a planning doc), JSON and CSV (for a spreadsheet or a notebook)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from integration.csvcells import csv_text
from integration.reports.dataset import Dataset, Report, plain

MD_ROWS = 30
SECTION_TITLES = {
    "wip": "Work in progress",
    "flow": "Flow: cycle time, lead time, throughput",
    "time_in_status": "Where work waits",
    "aging": "Aging work in progress",
    "hygiene": "Rule hygiene",
    "roadmap": "Roadmap",
    "cfd": "Cumulative flow",
    "forecast": "Forecasts",
}


def cell(value: Any) -> str:
    """A value as people read it: — for unknown, at most two decimals."""
    value = plain(value)
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
    return str(value)


def summary_text(summary: Mapping[str, Any]) -> str:
    return " · ".join(f"{k.replace('_', ' ')} {cell(v)}" for k, v in summary.items())


def _md_cell(value: Any) -> str:
    return cell(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def markdown_table(d: Dataset, limit: int = MD_ROWS) -> str:
    lines = ["| " + " | ".join(d.columns) + " |", "|" + "---|" * len(d.columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in d.rows[:limit]]
    if len(d.rows) > limit:
        lines.append(f"\n_…and {len(d.rows) - limit} more rows (see the JSON or CSV output)._")
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    out = ["# Flowkeeper flow report", "", f"{report.scope.describe()}  ",
           f"_generated {report.generated_at:%Y-%m-%d %H:%M} UTC_", ""]
    for section, datasets in report.sections():
        out += [f"## {SECTION_TITLES.get(section, section)}", ""]
        for d in datasets:
            out.append(f"**{d.title}**" + (f" — {summary_text(d.summary)}" if d.summary else ""))
            out.append("")
            if d.brief and d.rows:
                out.append(f"_{len(d.rows)} rows: the chart is in the HTML report, the numbers in JSON "
                           "and CSV._")
            else:
                out.append(markdown_table(d) if d.rows else "_nothing in this period_")
            if d.note:
                out += ["", f"_{d.note}_"]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def report_dict(report: Report) -> dict[str, Any]:
    s = report.scope
    return {
        "report": "flowkeeper",
        "scope": {"since": plain(s.since), "until": plain(s.until), "trackers": list(s.trackers),
                  "teams": list(s.teams)},
        "generated_at": plain(report.generated_at),
        "seconds": dict(report.seconds),
        "datasets": {d.name: dataset_dict(d) for d in report.datasets},
    }


def dataset_dict(d: Dataset) -> dict[str, Any]:
    return {
        "title": d.title,
        "section": d.section,
        "columns": list(d.columns),
        "rows": [{k: plain(v) for k, v in r.items()} for r in d.records()],
        "summary": {k: plain(v) for k, v in d.summary.items()},
        "note": d.note,
    }


def to_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


def dataset_csv(d: Dataset) -> str:
    """One dataset as a plain table: header row, then its rows."""
    return csv_text(d.columns, ([_csv(v) for v in row] for row in d.rows))


def to_csv(report: Report) -> str:
    """Every dataset in one long table: dataset, row, column, value (pivot it in a spreadsheet)."""
    rows = ((d.name, n, column, _csv(value)) for d in report.datasets for n, row in enumerate(d.rows)
            for column, value in zip(d.columns, row, strict=False))
    return csv_text(("dataset", "row", "column", "value"), rows)


def _csv(value: Any) -> Any:
    """Plain values (the formula guard is `csv_text`'s)."""
    value = plain(value)
    return "" if value is None else value
