"""The stub tracker in a thread on a loopback port, with seed data shaped like the real APIs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from werkzeug.serving import make_server

from integration.stubtracker.app import create_stub_app


class Stub:
    def __init__(self, url: str) -> None:
        self.url = url

    def seed_jira(self, *issues: dict[str, Any]) -> None:
        requests.post(f"{self.url}/_stub/jira/issues", json=list(issues), timeout=5).raise_for_status()

    def seed_linear(self, issues: list[dict[str, Any]], labels: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        body = {"issues": issues, "labels": list(labels)}
        requests.post(f"{self.url}/_stub/linear/issues", json=body, timeout=5).raise_for_status()

    def fault(self, mode: str, count: int = 1, **extra: Any) -> None:
        requests.post(f"{self.url}/_stub/fault", json={"mode": mode, "count": count, **extra}, timeout=5)

    def requests(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_stub/requests", timeout=5).json()

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_stub/state", timeout=5).json()

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] in ("POST", "PUT") and "/search" not in r["path"]
                and not (r["path"] == "/graphql" and not _is_mutation(r))
                and r["path"] != "/rest/api/3/comment/list"]


def _is_mutation(entry: dict[str, Any]) -> bool:
    return "mutation" in ((entry.get("json") or {}).get("query") or "")


@contextmanager
def running_stub() -> Iterator[Stub]:
    server = make_server("127.0.0.1", 0, create_stub_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stub(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)


def jira_issue(key: str, *, status: str = "In Progress", category: str = "indeterminate",
               assignee: dict[str, Any] | None = None, labels: tuple[str, ...] = (),
               summary: str = "Ship the thing", updated: str = "2026-03-02T09:00:00.000+0000") -> dict[str, Any]:
    """A Jira REST v3 issue as GET /issue/{key} returns it (fields Flowkeeper asks for)."""
    number = key.split("-")[-1]
    return {
        "id": f"1{number.zfill(4)}",
        "key": key,
        "self": f"https://acme.atlassian.net/rest/api/3/issue/1{number.zfill(4)}",
        "fields": {
            "summary": summary,
            "status": {"name": status, "id": "3", "statusCategory": {"key": category, "name": status}},
            "assignee": assignee,
            "reporter": {"accountId": "acc-reporter", "displayName": "Rita Reporter", "accountType": "atlassian"},
            "labels": list(labels),
            "issuetype": {"name": "Story", "subtask": False},
            "project": {"key": key.split("-")[0], "id": "10000", "name": "Acme"},
            "priority": {"name": "Medium", "id": "3"},
            "created": "2026-03-01T09:00:00.000+0000",
            "updated": updated,
            "statuscategorychangedate": "2026-03-01T10:00:00.000+0000",
            "duedate": None,
            "resolution": None,
            "issuelinks": [],
            "parent": None,
            "description": None,
            "fixVersions": [],
            "subtasks": [],
        },
    }


def linear_issue(identifier: str, *, state_type: str = "started", assignee: dict[str, Any] | None = None,
                 labels: tuple[tuple[str, str], ...] = (), team_id: str = "team-eng") -> dict[str, Any]:
    """A Linear Issue node with the IssueFields the client asks for."""
    return {
        "id": f"uuid-{identifier}",
        "identifier": identifier,
        "url": f"https://linear.app/stub/issue/{identifier}/x",
        "title": f"Issue {identifier}",
        "description": "",
        "priority": 3,
        "priorityLabel": "Medium",
        "estimate": None,
        "dueDate": None,
        "createdAt": "2026-03-01T09:00:00.000Z",
        "updatedAt": "2026-03-02T09:00:00.000Z",
        "state": {"id": "state-1", "name": "In Progress" if state_type == "started" else "Todo", "type": state_type},
        "assignee": assignee,
        "creator": {"id": "u-rita", "name": "Rita", "displayName": "rita"},
        "team": {"id": team_id, "key": identifier.split("-")[0]},
        "project": None,
        "cycle": None,
        "parent": None,
        "projectMilestone": None,
        "children": {"nodes": []},
        "labels": {"nodes": [{"id": i, "name": n} for i, n in labels]},
        "stateHistory": {"nodes": [{"startedAt": "2026-03-01T10:00:00.000Z", "endedAt": None}]},
    }
