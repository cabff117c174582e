"""Explain: enter an item key, see each rule's verdict with each condition's actual, expected and ✅/❌."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.explain_item import AS_EVENTS, explain_item, find_item, tracker_choice, what_is_known
from integration.admin.web import clean_arg, now, scrub, services

blueprint = Blueprint("admin_explain", __name__, url_prefix="/admin")


@blueprint.get("/explain")
@login_required
def index() -> ResponseReturnValue:
    svc = services()
    key = (clean_arg("key", 64) or "").upper() or None
    tracker = tracker_choice(request.args.get("tracker"))
    kind = request.args.get("as", "updated")
    kind = kind if kind in AS_EVENTS else "updated"
    context: dict[str, Any] = {
        "key": key,
        "tracker": tracker,
        "kind": kind,
        "as_events": AS_EVENTS,
        "lookup": None,
        "verdicts": [],
        "configured": sorted(svc.clients),
    }
    if key:
        at = now()
        lookup = find_item(svc, key, tracker, scrub=scrub)
        context["lookup"] = lookup
        if lookup.item is not None:
            context["item"], context["verdicts"] = explain_item(svc, lookup.item, kind, at)
        else:
            context["known"] = what_is_known(svc, key, tracker)
    return render_template("admin/explain.html", **context)
