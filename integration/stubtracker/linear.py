"""Linear's GraphQL endpoint, answering the operations Flowkeeper sends, by operation name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from integration.stubtracker.issuefilter import FilterError
from integration.stubtracker.issuefilter import search as filter_search
from integration.stubtracker.state import StubState

VIEWER: dict[str, Any] = {"id": "stub-flowkeeper-user", "name": "Flowkeeper", "displayName": "flowkeeper",
          "organization": {"id": "stub-org", "name": "Stub Org", "urlKey": "stub"}}
OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")

blueprint = Blueprint("stub_linear", __name__)


def _state() -> StubState:
    return current_app.extensions["stub_state"]


def iso(moment: datetime) -> str:
    """Linear's timestamp format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> str:
    return iso(_state().clock())


def _find_issue(ref: str) -> dict[str, Any] | None:
    issues = _state().linear_issues
    return issues.get(ref) or next((i for i in issues.values() if i.get("identifier") == ref), None)


def _viewer(_v: dict[str, Any]) -> dict[str, Any]:
    return {"viewer": VIEWER}


def _get_issue(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["id"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    return {"issue": {**issue, "inverseRelations": {"nodes": []}}}


def _search(v: dict[str, Any]) -> dict[str, Any]:
    """The issues the IssueFilter selects, sorted as asked, a page at a time."""
    state, issue_filter, sort = _state(), v.get("filter") or {}, v.get("sort") or []
    query = json.dumps({"filter": issue_filter, "sort": sort}, sort_keys=True)
    found = state.cached(f"linear:{query}", lambda: filter_search(state.linear_issues.values(), issue_filter, sort))
    return _page(found, v, "issues")


def _search_without_subtasks(v: dict[str, Any]) -> dict[str, Any]:
    """SearchIssues without `children`, as that query selects."""
    found = _search(v)["issues"]
    nodes = [{k: val for k, val in node.items() if k != "children"} for node in found["nodes"]]
    return {"issues": {**found, "nodes": nodes}}


def _activity(v: dict[str, Any]) -> dict[str, Any]:
    """The issue's history a page at a time, with its comments and who wrote them."""
    issue = _find_issue(v["id"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    comments = [{"id": c["id"], "createdAt": c["createdAt"], "user": c.get("user"), "botActor": c.get("botActor")}
                for c in _state().linear_comments.get(issue["id"], [])]
    return {"issue": {**_page(_state().linear_history.get(issue["id"], []), v, "history"),
                      "comments": {"nodes": comments}}}


def _marked_comment(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["id"]) or {}
    found = [c for c in _state().linear_comments.get(issue.get("id", ""), []) if v["marker"] in c["body"]]
    return {"issue": {"comments": {"nodes": [{"id": c["id"]} for c in found[:1]]}}}


def _create_comment(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["issueId"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    comment = {"id": f"comment-{_state().next_id()}", "body": v["body"], "createdAt": _now(),
               "user": {"id": VIEWER["id"], "name": VIEWER["name"]}}
    _state().linear_comments.setdefault(issue["id"], []).append(comment)
    issue["updatedAt"] = _now()
    _state().changed()
    return {"commentCreate": {"success": True, "comment": {"id": comment["id"]}}}


def _find_labels(v: dict[str, Any]) -> dict[str, Any]:
    names = set(v.get("names") or [])
    nodes = [label for label in _state().linear_labels.values() if label["name"] in names]
    return {"issueLabels": {"nodes": nodes}}


def _create_label(v: dict[str, Any]) -> dict[str, Any]:
    label = {"id": f"label-{_state().next_id()}", "name": v["name"], "isGroup": False, "parent": None,
             "team": {"id": v["teamId"]} if v.get("teamId") else None}
    _state().linear_labels[label["id"]] = label
    _state().changed()
    return {"issueLabelCreate": {"success": True, "issueLabel": {"id": label["id"], "name": label["name"]}}}


def _update_labels(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["id"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    nodes = list((issue.get("labels") or {}).get("nodes") or [])
    removed = set(v.get("removed") or [])
    nodes = [n for n in nodes if n["id"] not in removed]
    for label_id in v.get("added") or []:
        label = _state().linear_labels.get(label_id)
        if label and all(n["id"] != label_id for n in nodes):
            nodes.append({"id": label_id, "name": label["name"]})
    issue["labels"] = {"nodes": nodes}
    issue["updatedAt"] = _now()
    _state().changed()
    return {"issueUpdate": {"success": True}}


def _teams(_v: dict[str, Any]) -> dict[str, Any]:
    teams = {(i.get("team") or {}).get("id"): i.get("team") for i in _state().linear_issues.values()}
    return {"teams": {"nodes": [{**t, "name": t.get("key")} for t in teams.values() if t]}}


def _page(nodes: list[dict[str, Any]], v: dict[str, Any], field: str) -> dict[str, Any]:
    start, first = int(v.get("after") or 0), int(v.get("first") or 50)
    more = start + first < len(nodes)
    return {field: {"nodes": nodes[start : start + first],
                    "pageInfo": {"hasNextPage": more, "endCursor": str(start + first) if more else None}}}


def _state_names(v: dict[str, Any]) -> dict[str, Any]:
    names = sorted({i["state"]["name"] for i in _state().linear_issues.values() if i.get("state")})
    return _page([{"name": n} for n in names], v, "workflowStates")


def _labels_named(v: dict[str, Any]) -> dict[str, Any]:
    """Only the filter `rules check --online` sends: `or` of `name.eqIgnoreCase`."""
    wanted = {str(f["name"]["eqIgnoreCase"]).casefold() for f in (v.get("filter") or {}).get("or", [])}
    known = [label["name"] for label in _state().linear_labels.values()]
    known += [n["name"] for i in _state().linear_issues.values() for n in (i.get("labels") or {}).get("nodes", [])]
    return _page([{"name": n} for n in sorted(set(known)) if n.casefold() in wanted], v, "issueLabels")


def _workflow_states(v: dict[str, Any]) -> dict[str, Any]:
    found = {i["state"]["id"]: i["state"] for i in _state().linear_issues.values() if (i.get("state") or {}).get("id")}
    nodes = [{"id": k, "name": s["name"], "type": s.get("type", "")} for k, s in sorted(found.items())]
    return _page(nodes, v, "workflowStates")


def _issue_labels(v: dict[str, Any]) -> dict[str, Any]:
    found = {str(label["id"]): label["name"] for label in _state().linear_labels.values() if label.get("id")}
    for issue in _state().linear_issues.values():
        found.update({str(n["id"]): n["name"] for n in (issue.get("labels") or {}).get("nodes", []) if n.get("id")})
    return _page([{"id": k, "name": n} for k, n in sorted(found.items())], v, "issueLabels")


def _team_keys(v: dict[str, Any]) -> dict[str, Any]:
    keys = sorted({str(i["team"]["key"]) for i in _state().linear_issues.values() if (i.get("team") or {}).get("key")})
    return _page([{"key": k} for k in keys], v, "teams")


# ---- workflow states, state changes and assignees ------------------------------------------
DEFAULT_STATES = [("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"),
                  ("In Review", "started"), ("Done", "completed"), ("Canceled", "canceled"),
                  ("Duplicate", "duplicate")]


def team_states(team_id: str) -> list[dict[str, Any]]:
    """A team's workflow states: Linear's defaults unless seeded; created on first use."""
    states = _state().linear_states
    if team_id not in states:
        states[team_id] = [{"id": f"state-{team_id}-{n}", "name": name, "type": kind, "position": float(n)}
                           for n, (name, kind) in enumerate(DEFAULT_STATES)]
    return states[team_id]


def _team_states(v: dict[str, Any]) -> dict[str, Any]:
    return {"team": {"id": v["teamId"], "states": {"nodes": team_states(v["teamId"])}}}


def _update_state(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["id"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    team_id = (issue.get("team") or {}).get("id", "")
    state = next((s for s in team_states(team_id) if s["id"] == v["stateId"]), None)
    if state is None:
        raise LookupError("Entity not found: WorkflowState")
    issue["state"] = {"id": state["id"], "name": state["name"], "type": state["type"]}
    issue["updatedAt"] = _now()
    if state["type"] in ("completed", "canceled"):
        issue["completedAt" if state["type"] == "completed" else "canceledAt"] = _now()
    _state().changed()
    return {"issueUpdate": {"success": True, "issue": {"id": issue["id"], "state": issue["state"]}}}


def _update_assignee(v: dict[str, Any]) -> dict[str, Any]:
    issue = _find_issue(v["id"])
    if issue is None:
        raise LookupError("Entity not found: Issue")
    user_id = v.get("assigneeId")
    user = _state().linear_users.get(user_id) if user_id else None
    if user_id and user is None:
        raise LookupError("Entity not found: User")
    issue["assignee"] = user
    issue["updatedAt"] = _now()
    _state().changed()
    return {"issueUpdate": {"success": True}}


def _find_users(v: dict[str, Any]) -> dict[str, Any]:
    email = str(v.get("email") or "").casefold()
    nodes = [u for u in _state().linear_users.values() if str(u.get("email", "")).casefold() == email]
    return {"users": {"nodes": nodes}}


def _user(v: dict[str, Any]) -> dict[str, Any]:
    user = _state().linear_users.get(v["id"])
    if user is None:
        raise LookupError("Entity not found: User")
    return {"user": user}


HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "TeamStates": _team_states, "UpdateIssueState": _update_state, "UpdateIssueAssignee": _update_assignee,
    "UsersByEmail": _find_users, "UserById": _user,
    "Viewer": _viewer, "GetIssue": _get_issue, "SearchIssues": _search, "IssueActivity": _activity,
    "SearchIssuesWithoutSubtasks": _search_without_subtasks,
    "FindMarkedComment": _marked_comment, "CreateComment": _create_comment, "FindLabels": _find_labels,
    "CreateLabel": _create_label, "UpdateIssueLabels": _update_labels, "Teams": _teams,
    "WorkflowStateNames": _state_names, "LabelsNamed": _labels_named, "TeamKeys": _team_keys,
    "WorkflowStates": _workflow_states, "IssueLabels": _issue_labels,
}


@blueprint.post("/graphql")
def graphql() -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    name = body.get("operationName") or next(iter(OPERATION.findall(body.get("query") or "")), None)
    handler = HANDLERS.get(name or "")
    if handler is None:
        return jsonify({"errors": [{"message": f"stub: unknown operation {name!r}",
                                    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}), 400
    state = _state()
    try:
        with state.lock:
            data = handler(body.get("variables") or {})
    except FilterError as error:
        return jsonify({"errors": [{"message": f"stub: {error}",
                                    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}), 400
    except LookupError as error:
        return jsonify({"data": None, "errors": [{"message": str(error), "extensions": {"code": "INVALID_INPUT"}}]})
    answer = jsonify({"data": data})
    reset = int(state.clock().timestamp() * 1000) + state.linear_reset_in_ms
    answer.headers.update({"X-RateLimit-Requests-Limit": "2500",
                           "X-RateLimit-Requests-Remaining": str(state.linear_remaining),
                           "X-RateLimit-Requests-Reset": str(reset),
                           # an API key's hourly complexity budget (reference NOTES.md); the stub does not spend it
                           "X-RateLimit-Complexity-Limit": "3000000", "X-RateLimit-Complexity-Remaining": "3000000",
                           "X-RateLimit-Complexity-Reset": str(reset)})
    return answer
