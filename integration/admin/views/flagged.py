"""Flagged: items currently flagged, by rule, with age, escalation step, assignee and a link to the item."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from integration.admin.auth import login_required
from integration.admin.queries.flagged import (
    PAGE,
    FlagCounts,
    FlaggedFilter,
    FlaggedItem,
    FlaggedPage,
    flag_counts,
    flagged_page,
    teams,
)
from integration.admin.web import clean_arg, fields, int_arg, now, safe_url, services

blueprint = Blueprint("admin_flagged", __name__, url_prefix="/admin")


def flagged_filter() -> FlaggedFilter:
    mode = clean_arg("mode")
    tracker = clean_arg("tracker", 16)
    return FlaggedFilter(
        rule=clean_arg("rule"),
        tracker=tracker if tracker in ("jira", "linear") else None,
        team=clean_arg("team", 64),
        mode=mode if mode in ("live", "dry") else None,
    )


def step_label(rule: Any, steps_done: tuple[str, ...]) -> str:
    """'step 2 of 3' on an escalation ladder; '—' for a rule with a single step."""
    ladder = [step.id for step in getattr(rule, "steps", ())] if rule is not None else []
    if len(ladder) <= 1:
        return "—" if not steps_done or ladder else ", ".join(steps_done)
    reached = [ladder.index(s) for s in steps_done if s in ladder]
    if not reached:
        return f"not started (of {len(ladder)})"
    furthest = max(reached)
    return f"step {furthest + 1} of {len(ladder)} ({ladder[furthest]})"


def item_link(item: FlaggedItem) -> str | None:
    """The item in its tracker: the URL the tracker gave (http(s) only), else Jira's browse URL."""
    if url := safe_url(item.url):
        return url
    jira_url = services().settings.jira_url
    return f"{jira_url}/browse/{item.key}" if item.tracker == "jira" and jira_url else None


def _rows(items: list[FlaggedItem]) -> list[dict[str, Any]]:
    ruleset = services().rules.current()
    return [
        {"item": i, "link": item_link(i), "step": step_label(ruleset.rule(i.rule), i.steps_done)}
        for i in items
    ]


def _page(counts: FlagCounts | None = None) -> tuple[FlaggedFilter, int, FlaggedPage]:
    """The filter and offset the request asks for, and that page of flagged items."""
    f = flagged_filter()
    offset = int_arg("offset", 0) or 0
    return f, offset, flagged_page(services().store, f, offset, counts=counts)


@blueprint.get("/flagged")
@login_required
def index() -> ResponseReturnValue:
    store = services().store
    counts = flag_counts(store)  # the total and the summary from one pass
    f, offset, page = _page(counts)
    query = {k: v for k, v in request.args.items() if v and k != "offset"}
    summary = sorted(counts.by_rule().items(), key=lambda kv: (-kv[1], kv[0]))
    return render_template(
        "admin/flagged.html",
        rows=_rows(page.items),
        total=page.total,
        f=f,
        offset=offset,
        page_size=PAGE,
        query=query,
        summary=summary,
        teams=teams(store),
        now=now(),
        rule_names=sorted(r.name for r in services().rules.current().rules),
    )


@blueprint.get("/flagged.json")
@login_required
def as_json() -> ResponseReturnValue:
    _, _, page = _page()
    return jsonify(
        {
            "total": page.total,
            "items": [
                {
                    **fields(r["item"], "tracker", "key", "rule", "mode", "title", "team", "assignee", "status"),
                    "step": r["step"],
                    "url": r["link"],
                    "flagged_at": r["item"].opened_at.isoformat() if r["item"].opened_at else None,
                }
                for r in _rows(page.items)
            ],
        }
    )
