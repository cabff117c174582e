"""The stub tracker for tests: in a thread on a loopback port, or behind `responses` in-process.

Either way the same Flask app answers (`integration.stubtracker`), over one `StubState`:
the one tracker fake, with its JQL and IssueFilter evaluators.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import responses
from flask import Flask
from werkzeug.serving import make_server

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.page import comment_text
from integration.stubtracker.site import Account, Issue, Site
from integration.stubtracker.state import StubState, is_write

JIRA_BASE = "https://acme.atlassian.net"
LINEAR_URL = "https://api.linear.app/graphql"

ADA = Account("acc-ada", "Ada Lovelace", "ada@example.com")
GRACE = Account("acc-grace", "Grace Hopper", "grace@example.com")
LEAD = Account("acc-lead", "Lin Lead", "lead@example.com")
BOT = Account("acc-bot", "Deploy Bot", None, bot=True)
DROPPED_HEADERS = ("content-length", "transfer-encoding", "connection")


def serve(app: Flask, mock: responses.RequestsMock, *bases: str) -> None:
    """Answer every request to `bases` (default: Jira's site and Linear's API) from the stub app."""
    client = app.test_client()

    def forward(request: Any) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = client.open(url.path, method=request.method, query_string=url.query, data=body, headers=headers)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in DROPPED_HEADERS}
        return answer.status_code, kept, answer.get_data()

    for base in bases or (JIRA_BASE, LINEAR_URL.removesuffix("/graphql")):
        pattern = re.compile(re.escape(base) + r"(/.*)?$")
        for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
            mock.add_callback(method, pattern, callback=forward)


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
        return [r for r in self.requests() if is_write(r)]


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


def populate(site: Site, prefix: str, count: int, stalled_every: int, now: datetime,
             in_progress_every: int = 40, team: str = "ENG") -> list[str]:
    """A site of `count` issues: mostly done, some to do, a few in progress, every
    `stalled_every`-th in progress and untouched for weeks. Returns the stalled keys."""
    stalled = []
    for n in range(1, count + 1):
        key = f"{prefix}-{n}"
        if n % stalled_every == 0:
            status, category, updated = "In Progress", "in_progress", now - timedelta(days=30)
            stalled.append(key)
        elif n % in_progress_every == 1:
            status, category, updated = "In Progress", "in_progress", now - timedelta(hours=n % 47 + 1)
        elif n % 10 < 2:
            status, category, updated = "To Do", "todo", now - timedelta(days=n % 60)
        else:
            status, category, updated = "Done", "done", now - timedelta(days=n % 400 + 1)
        site.add(Issue(id=str(10000 + n), key=key, team=team, status=status, category=category,
                       updated=updated, created=updated - timedelta(days=3), assignee=ADA, reporter=GRACE,
                       status_entered=updated))
    return stalled


class JiraStub:
    """A real `JiraClient` at `url`, answered in-process by the stub (through `responses`)."""

    def __init__(self, mock: responses.RequestsMock, url: str, *, user: str = "bot@example.com",
                 token: str = "token") -> None:
        from integration.trackers.jira.client import JiraClient
        from integration.trackers.jira.normalize import JiraConfig

        self.state = StubState()
        self.site = Site(self.state, "jira", url)
        serve(create_stub_app(self.state), mock, url)
        self.client = JiraClient(url, user, token, config=JiraConfig(site_url=url), write_interval=0,
                                 sleep=lambda _s: None)

    def seed(self, *issues: dict[str, Any]) -> None:
        """Store Jira REST issue bodies as they are (a captured delivery's `issue`, say)."""
        with self.state.lock:
            for issue in issues:
                self.state.jira_issues[issue["key"]] = copy.deepcopy(issue)
            self.state.changed()

    def writes(self) -> list[tuple[str, str, object]]:
        """What Flowkeeper wrote, in order: ("add_labels"|"remove_labels", key, labels) and ("comment", key, text)."""
        found: list[tuple[str, str, object]] = []
        for entry in self.state.requests:
            if not is_write(entry):
                continue
            key = entry["path"].split("/issue/", 1)[-1].split("/")[0]
            if entry["path"].endswith("/comment"):
                found.append(("comment", key, comment_text((entry.get("json") or {}).get("body"))))
                continue
            operations = ((entry.get("json") or {}).get("update") or {}).get("labels", [])
            for kind in ("add", "remove"):
                labels = tuple(o[kind] for o in operations if kind in o)
                if labels:
                    found.append((f"{kind}_labels", key, labels))
        return found

    def break_reads(self, error: Exception | None) -> None:
        """Every read of an item or of the account raises `error` while it is set (None mends it)."""
        for name in ("get_item", "whoami"):
            if error is None:
                self.client.__dict__.pop(name, None)
            else:
                setattr(self.client, name, _raiser(error))


def _raiser(error: Exception) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error
    return fail
