"""The admin Reports page: each report section with its charts, filters, and every chart's numbers.

One section is computed per page view (each stays well under a second on a large
store); every dataset downloads as CSV or JSON with the same filters, and the whole
report as Markdown, self-contained HTML, JSON or CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.web import now, services
from integration.reports.charts import render
from integration.reports.context import Ask, make_ask
from integration.reports.dataset import Report
from integration.reports.formats import SECTION_TITLES, cell, dataset_csv, dataset_dict, summary_text
from integration.reports.montecarlo import SEED
from integration.reports.render import render_report
from integration.reports.report import SECTIONS, build_report
from integration.reports.scope import RuleCatalog, Scope, ScopeError, make_scope
from integration.reports.sources import known_teams, project_targets

PERIODS = ("7d", "14d", "30d", "90d", "180d", "365d")
DEFAULT_PERIOD, DEFAULT_SECTION = "30d", "flow"
EXPORTS = {"md": ("text/markdown", "md"), "html": ("text/html", "html"), "json": ("application/json", "json"),
           "csv": ("text/csv", "csv")}
DATASET_SECTIONS = {
    "wip_by_status": "wip", "wip_by_assignee": "wip", "wip_daily": "wip",
    "cycle_time": "flow", "cycle_scatter": "flow", "lead_time": "flow", "throughput": "flow",
    "time_in_status": "time_in_status", "flow_efficiency": "time_in_status", "aging_wip": "aging",
    "hygiene_rules": "hygiene", "hygiene_weekly": "hygiene", "hygiene_rule_weeks": "hygiene",
    "compliance": "hygiene",
    "roadmap": "roadmap",
    "cfd": "cfd", "throughput_daily": "forecast", "forecast_when": "forecast", "forecast_when_distribution": "forecast",
    "forecast_how_many": "forecast", "forecast_how_many_distribution": "forecast",
}

blueprint = Blueprint("reports", __name__, url_prefix="/admin/reports", template_folder="templates",
                      static_folder="static", static_url_path="/static")


@dataclass(frozen=True)
class Filters:
    team: str
    tracker: str
    period: str
    since: str
    until: str
    items: str = ""  # forecast: when will N items be done
    by: str = ""  # forecast: how many by this date
    cfd: str = ""  # cumulative flow by "status" (default: by category)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def _filters() -> Filters:
    def arg(name: str) -> str:
        return request.args.get(name, "").strip()[:64]

    period = arg("period")
    items = arg("items")
    return Filters(team=arg("team"), tracker=arg("tracker") if arg("tracker") in ("jira", "linear") else "",
                   period=period if period in PERIODS else "", since=arg("since"), until=arg("until"),
                   items=items if items.isdigit() else "", by=arg("by"),
                   cfd="status" if arg("cfd") == "status" else "")


def _ask(f: Filters, scope: Scope) -> Ask:
    """The forecast questions and drawing choices of the page; a bad date falls back with a message."""
    waiting = services().settings.reports.waiting_statuses
    items = int(f.items) if f.items else None
    try:
        return make_ask(items, f.by or None, SEED, f.cfd or "category", waiting, earliest=scope.until)
    except ScopeError as error:
        flash(f"{error}: showing the default forecast instead.", "error")
        return make_ask(None, None, SEED, f.cfd or "category", waiting)


def _scope(f: Filters) -> Scope:
    """The filters as a scope; a bad custom date falls back to the default period with a message."""
    try:
        since = f.since or f.period or DEFAULT_PERIOD
        return make_scope(since, now(), until=f.until or None, trackers=[f.tracker] if f.tracker else [],
                          teams=[f.team] if f.team else [])
    except ScopeError as error:
        flash(f"{error}: showing the last {DEFAULT_PERIOD} instead.", "error")
        return make_scope(DEFAULT_PERIOD, now(), trackers=[f.tracker] if f.tracker else [],
                          teams=[f.team] if f.team else [])


def _report(scope: Scope, sections: list[str] | None, f: Filters) -> Report:
    s = services()
    return build_report(s.store.engine, scope, catalog=RuleCatalog.from_ruleset(s.rules.current()),
                        targets=project_targets(s.store), sections=sections, now=now(), ask=_ask(f, scope),
                        connections=s.settings.reports.connections)


def _teams() -> list[tuple[str, str]]:
    return known_teams(services().store.engine)


@blueprint.get("")
@login_required
def index() -> ResponseReturnValue:
    section = request.args.get("section", DEFAULT_SECTION)
    if section not in SECTIONS:
        section = DEFAULT_SECTION
    f = _filters()
    scope = _scope(f)
    report = _report(scope, [section], f)
    links = {d.name: {fmt: _url("reports.dataset", name=d.name, fmt=fmt, **f.query())
                      for fmt in ("csv", "json")} for d in report.datasets}
    return render_template(
        "reports/page.html", report=report, section=section, sections=SECTIONS, titles=SECTION_TITLES, f=f,
        periods=PERIODS, default_period=DEFAULT_PERIOD, teams=_teams(), links=links,
        charts={d.name: render(d) for d in report.datasets}, cell=cell, summary_text=summary_text,
        exports=list(EXPORTS),
    )


@blueprint.get("/<name>.<fmt>")
@login_required
def dataset(name: str, fmt: str) -> ResponseReturnValue:
    """One chart's numbers, with the page's filters."""
    if name not in DATASET_SECTIONS or fmt not in ("csv", "json"):
        abort(404, description=f"no report dataset {name}.{fmt}")
    f = _filters()
    report = _report(_scope(f), [DATASET_SECTIONS[name]], f)
    chosen = report.get(name)
    assert chosen is not None
    if fmt == "json":
        return jsonify({"scope": _scope_json(report.scope), **dataset_dict(chosen)})
    return _download(dataset_csv(chosen), "text/csv", f"flowkeeper-{name}.csv")


@blueprint.get("/export.<fmt>")
@login_required
def export(fmt: str) -> ResponseReturnValue:
    """The whole report (every section) as a file to keep or paste into a planning doc."""
    if fmt not in EXPORTS:
        abort(404, description=f"no report format {fmt}")
    mimetype, suffix = EXPORTS[fmt]
    f = _filters()
    report = _report(_scope(f), None, f)
    return _download(render_report(report, fmt), mimetype, f"flowkeeper-report.{suffix}")


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, **values)


def _scope_json(scope: Scope) -> dict[str, object]:
    return {"since": scope.since.isoformat(), "until": scope.until.isoformat(),
            "trackers": list(scope.trackers), "teams": list(scope.teams)}


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
