"""Charts: flagged items over time per rule, rule hits per day, decisions by outcome (server-side SVG)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.queries.charts import DailySeries, decisions_by_outcome, flagged_over_time, rule_hits
from integration.admin.svg import OUTCOME_COLORS, line_chart, stacked_bars
from integration.admin.web import int_arg, now, services

RANGES = (7, 14, 30, 90)

blueprint = Blueprint("admin_charts", __name__, url_prefix="/admin")


def _days() -> int:
    days = int_arg("days", 30) or 30
    return days if days in RANGES else 30


def _data(days: int) -> dict[str, DailySeries]:
    store, end = services().store, now()
    outcomes = decisions_by_outcome(store, end, days)
    ordered = {k: outcomes.series[k] for k in OUTCOME_COLORS if k in outcomes.series}
    return {
        "flagged": flagged_over_time(store, end, days),
        "hits": rule_hits(store, end, days, [r.name for r in services().rules.current().rules]),
        "outcomes": DailySeries(outcomes.days, ordered, outcomes.step),
    }


@blueprint.get("/charts")
@login_required
def index() -> ResponseReturnValue:
    days = _days()
    data = _data(days)
    unit = "day" if data["hits"].step == 1 else "week"
    charts = {
        "flagged": line_chart(
            data["flagged"].labels(), data["flagged"].series, f"Flagged items at the end of each {unit}"
        ),
        "hits": stacked_bars(data["hits"].labels(), data["hits"].series, f"Rule decisions per {unit}"),
        "outcomes": stacked_bars(
            data["outcomes"].labels(),
            data["outcomes"].series,
            f"Decisions by outcome per {unit}",
            OUTCOME_COLORS,
        ),
    }
    return render_template("admin/charts.html", charts=charts, days=days, ranges=RANGES, unit=unit)


@blueprint.get("/charts.json")
@login_required
def as_json() -> ResponseReturnValue:
    data = _data(_days())
    return jsonify(
        {
            name: {"days": [d.isoformat() for d in s.days], "step_days": s.step, "series": s.series}
            for name, s in data.items()
        }
    )
