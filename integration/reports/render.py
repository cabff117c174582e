"""Pick the output format of a report by name: md, html, json, csv (all datasets, or one)."""

from __future__ import annotations

from integration.reports.dataset import Report
from integration.reports.formats import dataset_csv, to_csv, to_json, to_markdown
from integration.reports.html import to_html


def render_report(report: Report, fmt: str, *, dataset: str | None = None) -> str:
    if dataset is not None:
        chosen = report.get(dataset)
        if chosen is None:
            names = ", ".join(d.name for d in report.datasets)
            raise ValueError(f"no dataset {dataset!r} in this report (choose from {names})")
        if fmt != "csv":
            raise ValueError("--dataset goes with --format csv")
        return dataset_csv(chosen)
    renderers = {"md": to_markdown, "html": to_html, "json": to_json, "csv": to_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(renderers)})")
    return renderers[fmt](report)
