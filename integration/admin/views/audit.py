"""The audit log: every decision with its reason, filtered, keyset-paginated, exportable as CSV."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from integration import csvcells
from integration.admin.auth import login_required
from integration.admin.web import clean_arg, int_arg, now, parse_day, services
from integration.codec import to_jsonable
from integration.csvcells import safe_cell
from integration.store.audit import AuditEntry, AuditFilter, Outcome

PAGE = 50
CSV_COLUMNS = (
    "id",
    "at",
    "tracker",
    "item_key",
    "rule",
    "action",
    "outcome",
    "reason",
    "delivery_id",
    "detail",
)

blueprint = Blueprint("admin_audit", __name__, url_prefix="/admin")


def audit_filter() -> AuditFilter:
    """The page's filters from the query string; an unknown outcome is ignored, not an error."""
    outcome = clean_arg("outcome")
    until = parse_day(request.args.get("until"))
    if until is not None and len(request.args.get("until", "").strip()) == 10:
        until += timedelta(days=1)  # a day means "up to the end of that day"
    return AuditFilter(
        rule=clean_arg("rule"),
        item_key=clean_arg("item", 64),
        outcome=outcome if outcome in {o.value for o in Outcome} else None,
        tracker=clean_arg("tracker", 16),
        since=parse_day(request.args.get("since")),
        until=until,
    )


def filter_query() -> dict[str, str]:
    """The current filters as query arguments, for the pager and export links."""
    return {k: v for k, v in request.args.items() if v and k != "before"}


def _page() -> tuple[AuditFilter, list[AuditEntry], int | None]:
    f = audit_filter()
    before = int_arg("before", None, minimum=1)
    rows = services().store.audit.page(f, limit=PAGE + 1, before_id=before)
    next_before = rows[PAGE - 1].id if len(rows) > PAGE else None
    return f, rows[:PAGE], next_before


@blueprint.get("/audit")
@login_required
def index() -> ResponseReturnValue:
    f, entries, next_before = _page()
    rule_names = sorted(r.name for r in services().rules.current().rules)
    return render_template(
        "admin/audit.html",
        entries=entries,
        next_before=next_before,
        f=f,
        query=filter_query(),
        outcomes=[o.value for o in Outcome],
        rule_names=rule_names,
        newest=request.args.get("before") is None,
        now=now(),
    )


@blueprint.get("/audit.json")
@login_required
def as_json() -> ResponseReturnValue:
    _, entries, next_before = _page()
    return jsonify({"entries": [entry_json(e) for e in entries], "next_before": next_before})


def entry_json(e: AuditEntry) -> dict[str, Any]:
    """The entry as JSON: the model's own codec, so a new field shows up without another mapping."""
    result: dict[str, Any] = to_jsonable(e)
    return result


@blueprint.get("/audit.csv")
@login_required
def as_csv() -> ResponseReturnValue:
    f = audit_filter()
    store = services().store
    name = f"flowkeeper-audit-{now():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(csv_lines(store.audit.iter_all(f))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def csv_lines(entries: Iterator[AuditEntry]) -> Iterator[str]:
    """CSV rows, streamed; a cell that a spreadsheet would run as a formula is quoted with '."""
    buffer = io.StringIO()
    writer = csvcells.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([safe_cell(v) for v in _row(e)])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _row(e: AuditEntry) -> list[Any]:
    detail = json.dumps(dict(e.detail), ensure_ascii=False, sort_keys=True) if e.detail else ""
    return [
        e.id,
        e.at.isoformat(),
        e.tracker,
        e.item_key or "",
        e.rule or "",
        e.action,
        e.outcome.value,
        e.reason,
        e.delivery_id or "",
        detail,
    ]



