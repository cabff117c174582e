"""The stub's Flask app: tracker routes, request recording, fault switches, seeding."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from integration.stubtracker import jira, linear
from integration.stubtracker.jiralimits import BURST, refusal_headers
from integration.stubtracker.page import render, written
from integration.stubtracker.state import Fault, StubState

CONTROL = "/_stub"


def create_stub_app(state: StubState | None = None) -> Flask:
    app = Flask(__name__)
    state = state or StubState()
    app.extensions["stub_state"] = state
    app.register_blueprint(jira.blueprint)
    app.register_blueprint(linear.blueprint)

    @app.before_request
    def record_and_fault() -> ResponseReturnValue | None:
        if request.path.startswith(CONTROL):
            return None
        entry = {"method": request.method, "path": request.path, "query": request.args.to_dict(),
                 "json": request.get_json(silent=True), "at": time.time()}
        state.record(entry)
        fault = state.take_fault(request.method, request.path)
        g.fault = fault.mode if fault else None
        if fault:
            return _fault_response(fault, state)
        return _jira_limits(state) if request.path.startswith(jira.API) else None

    @app.after_request
    def limit_headers(response: Response) -> Response:
        for name, value in (g.get("limit_headers") or {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.post(f"{CONTROL}/limits")
    def set_limits() -> ResponseReturnValue:
        """Jira's budgets: `burst_per_second`, `issue_writes_per_second`, `enforce` (each optional)."""
        body = request.get_json(force=True) or {}
        with state.lock:
            limits = state.jira_limits
            limits.burst_per_second = float(body.get("burst_per_second", limits.burst_per_second))
            limits.issue_writes_per_second = float(body.get("issue_writes_per_second", limits.issue_writes_per_second))
            limits.enforce = bool(body.get("enforce", limits.enforce))
            limits.reset()
        return jsonify({"ok": True})

    @app.post(f"{CONTROL}/fault")
    def set_fault() -> ResponseReturnValue:
        body = request.get_json(force=True) or {}
        with state.lock:
            state.fault = Fault(mode=str(body["mode"]), count=int(body.get("count", 1)),
                                retry_after=float(body.get("retry_after", 1)), delay=float(body.get("delay", 2)),
                                reason=str(body.get("reason") or BURST),
                                methods=frozenset(str(m).upper() for m in body.get("methods") or ()),
                                paths=tuple(str(p) for p in body.get("paths") or ()))
        return jsonify({"ok": True})

    @app.post(f"{CONTROL}/reset")
    def reset() -> ResponseReturnValue:
        state.reset()
        return jsonify({"ok": True})

    @app.post(f"{CONTROL}/jira/issues")
    def seed_jira() -> ResponseReturnValue:
        with state.lock:
            for issue in request.get_json(force=True) or []:
                history = issue.pop("changelog", None)  # {"histories": [...]}, as `expand=changelog` shows it
                if history is not None:
                    state.jira_changelogs[issue["key"]] = list(history.get("histories") or [])
                state.jira_issues[issue["key"]] = issue
            state.changed()
        return jsonify({"ok": True, "count": len(state.jira_issues)})

    @app.post(f"{CONTROL}/jira/users")
    def seed_jira_users() -> ResponseReturnValue:
        with state.lock:
            for user in request.get_json(force=True) or []:
                state.jira_users[user["accountId"]] = user
        return jsonify({"ok": True, "count": len(state.jira_users)})

    @app.post(f"{CONTROL}/linear/issues")
    def seed_linear() -> ResponseReturnValue:
        body = request.get_json(force=True) or {}
        with state.lock:
            for issue in body.get("issues", []):
                state.linear_issues[issue["id"]] = issue
            for label in body.get("labels", []):
                state.linear_labels[label["id"]] = label
            for user in body.get("users", []):
                state.linear_users[user["id"]] = user
            state.changed()
        return jsonify({"ok": True, "count": len(state.linear_issues)})

    @app.get(f"{CONTROL}/")
    def page() -> ResponseReturnValue:
        return render(written(state))

    @app.get(f"{CONTROL}/written")
    def written_json() -> ResponseReturnValue:
        return jsonify(written(state))

    @app.get(f"{CONTROL}/requests")
    def requests_made() -> ResponseReturnValue:
        after = request.args.get("after", default=0, type=int)  # a poller asks only for what is new
        with state.lock:
            return jsonify(state.requests[max(after, 0):])

    @app.get(f"{CONTROL}/state")
    def dump() -> ResponseReturnValue:
        with state.lock:
            return jsonify({"jira_issues": state.jira_issues, "jira_comments": _strip(state.jira_comments),
                            "linear_issues": state.linear_issues, "linear_comments": state.linear_comments,
                            "jira_transitions": state.jira_transitions})

    return app


def _strip(comments: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {k: [dict(c) for c in v] for k, v in comments.items()}


def _jira_limits(state: StubState) -> Response | None:
    """Spend the request's burst (and per-issue write) tokens; a 429 when enforcing and one is out."""
    issue = (request.view_args or {}).get("key") if request.method in ("PUT", "POST", "DELETE") else None
    route = request.url_rule.rule if request.url_rule else request.path
    with state.lock:
        answer = state.jira_limits.answer(request.method, route, issue, state.clock())
    g.limit_headers = answer.headers
    return _too_many(answer.headers) if answer.refused else None


def _too_many(headers: dict[str, str]) -> Response:
    response = jsonify({"errorMessages": ["Rate limit exceeded."], "errors": {}})
    response.status_code = 429
    response.headers.update(headers)
    return response


def _fault_response(fault: Fault, state: StubState) -> Response | None:
    if fault.mode == "slow":
        time.sleep(fault.delay)
        return None
    if fault.mode == "429":
        if request.path.startswith(jira.API):
            return _too_many(refusal_headers(fault.reason, fault.retry_after, state.clock()))
        return _too_many({"Retry-After": str(int(fault.retry_after))})
    if fault.mode == "ratelimited":
        response = jsonify({"errors": [{"message": "Rate limit exceeded",
                                        "extensions": {"code": "RATELIMITED"}}]})
        response.status_code = 400
        reset_ms = int((time.time() + fault.retry_after) * 1000)
        response.headers["X-RateLimit-Requests-Reset"] = str(reset_ms)
        response.headers["X-RateLimit-Requests-Remaining"] = "0"
        return response
    response = jsonify({"errorMessages": [f"stub fault {fault.mode}"]})
    response.status_code = int(fault.mode) if fault.mode.isdigit() else 500
    return response
