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
        "outcomes": DailySeries(outcomes.days, ordered),
    }


@blueprint.get("/charts")
@login_required
def index() -> ResponseReturnValue:
    days = _days()
    data = _data(days)
    charts = {
        "flagged": line_chart(
            data["flagged"].days, data["flagged"].series, "Flagged items at the end of each day"
        ),
        "hits": stacked_bars(data["hits"].days, data["hits"].series, "Rule decisions per day"),
        "outcomes": stacked_bars(
            data["outcomes"].days, data["outcomes"].series, "Decisions by outcome per day", OUTCOME_COLORS
        ),
    }
    return render_template("admin/charts.html", charts=charts, days=days, ranges=RANGES)


@blueprint.get("/charts.json")
@login_required
def as_json() -> ResponseReturnValue:
    data = _data(_days())
    return jsonify(
        {name: {"days": [d.isoformat() for d in s.days], "series": s.series} for name, s in data.items()}
    )
