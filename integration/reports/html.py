"""A Report as one self-contained HTML file: inline CSS and SVG charts, no script, no network."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from integration.reports.charts import render
from integration.reports.dataset import Report
from integration.reports.formats import SECTION_TITLES, cell, summary_text

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def charts_of(report: Report) -> dict[str, Markup | None]:
    return {d.name: render(d) for d in report.datasets}


def to_html(report: Report) -> str:
    template = _env.get_template("reports/standalone.html")
    return template.render(report=report, charts=charts_of(report), cell=cell, summary_text=summary_text,
                           titles=SECTION_TITLES)
