"""Jira Cloud REST v3, as much of it as Flowkeeper calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from integration.stubtracker.jql import JqlError, is_relative
from integration.stubtracker.jql import search as jql_search
from integration.stubtracker.state import StubState

API = "/rest/api/3"
SERVICE_ACCOUNT: dict[str, Any] = {"accountId": "stub-flowkeeper-account", "displayName": "Flowkeeper", "accountType": "atlassian",
                   "active": True, "emailAddress": "flowkeeper@example.test"}

blueprint = Blueprint("stub_jira", __name__)


@blueprint.errorhandler(HTTPException)
def error_collection(error: HTTPException) -> ResponseReturnValue:
    """Jira answers its errors with an ErrorCollection (JSON), never an HTML page."""
    return jsonify({"errorMessages": [error.description or error.name], "errors": {}}), error.code or 500


def _state() -> StubState:
    return current_app.extensions["stub_state"]


def stamp(moment: datetime) -> str:
    """Jira's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _now() -> str:
    return stamp(_state().clock())


def _issue_or_404(key: str) -> dict[str, Any]:
    issues = _state().jira_issues
    issue = issues.get(key) or next((i for i in issues.values() if i.get("id") == key), None)
    if issue is None:
        abort(404, description="Issue does not exist or you do not have permission to see it.")
    return issue


@blueprint.get(f"{API}/myself")
def myself() -> ResponseReturnValue:
    return jsonify(SERVICE_ACCOUNT)


def _with_changelog(issue: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    """The issue with its changelog expanded (the latest `limit` entries, when limited)."""
    histories = _state().jira_changelogs.get(issue["key"], [])
    shown = histories[-limit:] if limit else histories
    return {**issue, "changelog": {"startAt": 0, "maxResults": limit or 100, "total": len(histories),
                                   "histories": shown}}


@blueprint.get(f"{API}/issue/<key>")
def get_issue(key: str) -> ResponseReturnValue:
    with _state().lock:
        issue = dict(_issue_or_404(key))
        if "changelog" in (request.args.get("expand") or ""):
            issue = _with_changelog(issue)
    return jsonify(issue)


@blueprint.post(f"{API}/issue/bulkfetch")
def bulk_fetch() -> ResponseReturnValue:
    """Up to 100 issues by key or id, in id order; those that do not exist are left out, as Jira does."""
    body = request.get_json(silent=True) or {}
    wanted = [str(k) for k in body.get("issueIdsOrKeys") or ()]
    if not wanted or len(wanted) > 100:
        return jsonify({"errorMessages": ["issueIdsOrKeys takes 1 to 100 issues"], "errors": {}}), 400
    issues = _state().jira_issues
    with _state().lock:
        found = {i["id"]: i for k in wanted if (i := issues.get(k) or next(
            (j for j in issues.values() if j.get("id") == k), None)) is not None}
        changelog = "changelog" in (body.get("expand") or ())
        answer = [_with_changelog(i, 40) if changelog else i for _id, i in sorted(found.items(), key=lambda p: (len(p[0]), p[0]))]
    return jsonify({"issues": answer, "issueErrors": []})


@blueprint.get(f"{API}/search/jql")
def search() -> ResponseReturnValue:
    """The issues the JQL selects, in its order, a page at a time (400 for JQL the stub cannot read)."""
    jql = request.args.get("jql") or ""
    size = min(int(request.args.get("maxResults", 50)), 100)
    start = int(request.args.get("nextPageToken") or 0)
    state = _state()
    with state.lock:
        try:
            now = state.clock()
            found = state.cached(f"jql:{jql}" + (f"@{now.isoformat()}" if is_relative(jql) else ""),
                                 lambda: jql_search(state.jira_issues.values(), jql, now))
        except JqlError as error:
            return jsonify({"errorMessages": [f"Error in the JQL Query: {error}"], "errors": {}}), 400
        page = found[start : start + size]
    last = start + size >= len(found)
    body: dict[str, Any] = {"issues": page, "isLast": last}
    if not last:
        body["nextPageToken"] = str(start + size)
    return jsonify(body)


@blueprint.get(f"{API}/issue/<key>/changelog")
def changelog(key: str) -> ResponseReturnValue:
    key = _issue_or_404(key)["key"]
    start, size = int(request.args.get("startAt", 0)), int(request.args.get("maxResults", 100))
    with _state().lock:
        values = _state().jira_changelogs.get(key, [])
        page = values[start : start + size]
    return jsonify({"startAt": start, "maxResults": size, "total": len(values),
                    "isLast": start + size >= len(values), "values": page})


@blueprint.get(f"{API}/issue/<key>/comment")
def list_comments(key: str) -> ResponseReturnValue:
    key = _issue_or_404(key)["key"]
    with _state().lock:
        comments = [{k: v for k, v in c.items() if k != "properties"} for c in _state().jira_comments.get(key, [])]
    return jsonify({"startAt": 0, "maxResults": 5000, "total": len(comments), "comments": comments})


@blueprint.post(f"{API}/comment/list")
def comments_by_id() -> ResponseReturnValue:
    wanted = {str(i) for i in (request.get_json(force=True) or {}).get("ids", [])}
    with _state().lock:
        found = [c for cs in _state().jira_comments.values() for c in cs if c["id"] in wanted]
    return jsonify({"startAt": 0, "maxResults": len(found), "total": len(found), "isLast": True, "values": found})


@blueprint.post(f"{API}/issue/<key>/comment")
def add_comment(key: str) -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    with _state().lock:
        issue = _issue_or_404(key)
        comment = {"id": _state().next_id(), "author": SERVICE_ACCOUNT, "body": body.get("body"),
                   "properties": body.get("properties", []), "created": _now(), "updated": _now()}
        _state().jira_comments.setdefault(issue["key"], []).append(comment)
        issue["fields"]["updated"] = _now()
        _state().changed()
    return jsonify({k: v for k, v in comment.items() if k != "properties"}), 201


@blueprint.put(f"{API}/issue/<key>/comment/<comment_id>")
def update_comment(key: str, comment_id: str) -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    with _state().lock:
        for comment in _state().jira_comments.get(key, []):
            if comment["id"] == comment_id:
                comment.update(body=body.get("body"), updated=_now())
                _state().changed()
                return jsonify(comment)
    abort(404, description=f"Can not find a comment for key: {comment_id}.")


@blueprint.put(f"{API}/issue/<key>")
def edit_issue(key: str) -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    with _state().lock:
        issue = _issue_or_404(key)
        labels = list(issue["fields"].get("labels") or [])
        for operation in (body.get("update") or {}).get("labels", []):
            if "add" in operation and operation["add"] not in labels:
                labels.append(operation["add"])
            if "remove" in operation and operation["remove"] in labels:
                labels.remove(operation["remove"])
        issue["fields"]["labels"] = labels
        issue["fields"]["updated"] = _now()
        _state().changed()
    return "", 204


@blueprint.get(f"{API}/mypermissions")
def my_permissions() -> ResponseReturnValue:
    keys = (request.args.get("permissions") or "").split(",")
    return jsonify({"permissions": {k: {"key": k, "havePermission": True} for k in keys if k}})


# ---- names, for `flowkeeper rules check --online`: what the stored issues use ------------


# A Jira Cloud site's own fields, as GET /field lists them (the ones Flowkeeper looks for).
FIELDS = [
    {"id": "summary", "key": "summary", "name": "Summary", "custom": False},
    {"id": "status", "key": "status", "name": "Status", "custom": False},
    {"id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": True,
     "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016}},
    {"id": "customfield_10020", "key": "customfield_10020", "name": "Sprint", "custom": True,
     "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint",
                "customId": 10020}},
]


@blueprint.get(f"{API}/field")
def fields() -> ResponseReturnValue:
    return jsonify(FIELDS)


# The site's priorities in its own order (most urgent first), one of them added and named
# in Russian, as GET /priority/search pages them.
PRIORITIES = [{"id": "1", "name": "Highest"}, {"id": "2", "name": "High"}, {"id": "10001", "name": "Обычный"},
              {"id": "3", "name": "Medium"}, {"id": "4", "name": "Low"}, {"id": "5", "name": "Lowest"}]


@blueprint.get(f"{API}/priority/search")
def priorities() -> ResponseReturnValue:
    start, size = int(request.args.get("startAt", 0)), int(request.args.get("maxResults", 50))
    page = PRIORITIES[start : start + size]
    return jsonify({"startAt": start, "maxResults": size, "total": len(PRIORITIES),
                    "isLast": start + size >= len(PRIORITIES), "values": page})


@blueprint.get(f"{API}/status")
def statuses() -> ResponseReturnValue:
    with _state().lock:
        found = {i["fields"]["status"]["name"]: i["fields"]["status"] for i in _state().jira_issues.values()
                 if (i.get("fields") or {}).get("status")}
    return jsonify([{"id": s.get("id", "1"), "name": name, "description": "",
                     "statusCategory": s.get("statusCategory") or {}} for name, s in sorted(found.items())])


@blueprint.get(f"{API}/label")
def labels() -> ResponseReturnValue:
    start, size = int(request.args.get("startAt", 0)), int(request.args.get("maxResults", 1000))
    with _state().lock:
        names = sorted({label for i in _state().jira_issues.values() for label in i["fields"].get("labels") or ()})
    page = names[start : start + size]
    return jsonify({"startAt": start, "maxResults": size, "total": len(names),
                    "isLast": start + size >= len(names), "values": page})


@blueprint.get(f"{API}/project/<key>")
def project(key: str) -> ResponseReturnValue:
    with _state().lock:
        found = [i["fields"]["project"] for i in _state().jira_issues.values()
                 if (i["fields"].get("project") or {}).get("key") == key]
    if not found:
        return jsonify({"errorMessages": [f"No project could be found with key '{key}'."], "errors": {}}), 404
    return jsonify({"id": found[0].get("id", "10000"), "key": key, "name": found[0].get("name", key),
                    "projectTypeKey": "software", "simplified": False, "style": "classic"})


# ---- workflow: transitions, assignee, users ----------------------------------------------
# A company-managed workflow with global transitions: every status is reachable from every
# other; the close transition's screen carries the resolution field, as Jira's default does.

def _category(key: str, name: str, cid: int) -> dict[str, Any]:
    return {"id": cid, "key": key, "name": name, "colorName": "blue-gray"}


STATUSES = {
    "To Do": {"id": "10000", "name": "To Do", "statusCategory": _category("new", "To Do", 2)},
    "In Progress": {"id": "3", "name": "In Progress", "statusCategory": _category("indeterminate", "In Progress", 4)},
    "In Review": {"id": "10001", "name": "In Review", "statusCategory": _category("indeterminate", "In Progress", 4)},
    "Done": {"id": "10002", "name": "Done", "statusCategory": _category("done", "Done", 3)},
}
RESOLUTIONS = [{"id": "10000", "name": "Done"}, {"id": "10001", "name": "Won't Do"},
               {"id": "10002", "name": "Duplicate"}, {"id": "10003", "name": "Cannot Reproduce"}]
TRANSITIONS = {"11": ("Back to To Do", "To Do"), "21": ("Start", "In Progress"), "31": ("Review", "In Review"),
               "41": ("Close", "Done")}
RESOLUTION_FIELD = {"required": True, "name": "Resolution", "key": "resolution", "operations": ["set"],
                    "schema": {"type": "resolution", "system": "resolution"}, "hasDefaultValue": False,
                    "allowedValues": RESOLUTIONS}


def _transitions_for(issue: dict[str, Any]) -> list[dict[str, Any]]:
    current = (issue["fields"].get("status") or {}).get("name")
    out = []
    for tid, (name, to) in TRANSITIONS.items():
        if to == current:
            continue
        fields = {"resolution": RESOLUTION_FIELD} if to == "Done" else {}
        out.append({"id": tid, "name": name, "to": STATUSES[to], "hasScreen": bool(fields), "isGlobal": True,
                    "isInitial": False, "isAvailable": True, "isConditional": False, "fields": fields})
    return out


@blueprint.get(f"{API}/issue/<key>/transitions")
def transitions(key: str) -> ResponseReturnValue:
    with _state().lock:
        found = _transitions_for(_issue_or_404(key))
    if "transitions.fields" not in (request.args.get("expand") or ""):
        found = [{k: v for k, v in t.items() if k != "fields"} for t in found]
    return jsonify({"transitions": found})


@blueprint.post(f"{API}/issue/<key>/transitions")
def do_transition(key: str) -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    with _state().lock:
        issue = _issue_or_404(key)
        chosen = next((t for t in _transitions_for(issue) if t["id"] == str((body.get("transition") or {}).get("id"))),
                      None)
        if chosen is None:
            return jsonify({"errorMessages": ["Transition id is not valid for this issue."], "errors": {}}), 400
        resolution = (body.get("fields") or {}).get("resolution")
        if chosen["fields"].get("resolution") and not resolution:
            return jsonify({"errorMessages": [], "errors": {"resolution": "Resolution is required."}}), 400
        if resolution and not chosen["fields"].get("resolution"):
            return jsonify({"errorMessages": [], "errors": {"resolution": "Field 'resolution' cannot be set. "
                                                                          "It is not on the appropriate screen"}}), 400
        fields = issue["fields"]
        before = fields.get("status")
        fields["status"] = chosen["to"]
        fields["resolution"] = next((r for r in RESOLUTIONS if resolution and r["name"] == resolution.get("name")
                                     or resolution and r["id"] == resolution.get("id")), None)
        fields["statuscategorychangedate"] = fields["updated"] = _now()
        _state().jira_transitions.append({"key": key, "from": (before or {}).get("name"), "to": chosen["to"]["name"],
                                          "resolution": (fields["resolution"] or {}).get("name")})
        _state().changed()
    return "", 204


@blueprint.put(f"{API}/issue/<key>/assignee")
def set_assignee(key: str) -> ResponseReturnValue:
    body = request.get_json(force=True) or {}
    with _state().lock:
        issue = _issue_or_404(key)
        account = body.get("accountId")
        user = _state().jira_users.get(account) if account else None
        if account and user is None:
            return jsonify({"errorMessages": [f"User '{account}' cannot be assigned issues."], "errors": {}}), 400
        issue["fields"]["assignee"] = user
        issue["fields"]["updated"] = _now()
        _state().changed()
    return "", 204


@blueprint.get(f"{API}/user/search")
def user_search() -> ResponseReturnValue:
    query = (request.args.get("query") or "").casefold()
    account = request.args.get("accountId")
    with _state().lock:
        users = list(_state().jira_users.values())
    found = [u for u in users if account == u["accountId"] or query and query in
             (str(u.get("emailAddress", "")).casefold(), str(u.get("displayName", "")).casefold())]
    return jsonify(found)
